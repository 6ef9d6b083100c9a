namespace DinoSharp.Training;

/// <summary>Optimisation schedule settings (dinov2 <c>ssl_default_config.yaml</c> values beside each).</summary>
public sealed record ScheduleConfig
{
    /// <summary><c>optim.epochs</c> (100).</summary>
    public int Epochs { get; init; } = 100;

    /// <summary><c>train.OFFICIAL_EPOCH_LENGTH</c>: iterations per "epoch" (1250).</summary>
    public int ItersPerEpoch { get; init; } = 1250;

    /// <summary>Total batch size over all processes; the lr is scaled by √(batch/1024) (dinov2's sqrt_wrt_1024 rule).</summary>
    public int BatchSize { get; init; } = 1024;

    /// <summary><c>optim.base_lr</c> (0.004), the lr at batch 1024.</summary>
    public double BaseLr { get; init; } = 0.004;

    /// <summary><c>optim.min_lr</c> (1e-6).</summary>
    public double MinLr { get; init; } = 1e-6;

    /// <summary><c>optim.warmup_epochs</c> (10).</summary>
    public int WarmupEpochs { get; init; } = 10;

    /// <summary><c>optim.weight_decay</c> (0.04).</summary>
    public double WeightDecay { get; init; } = 0.04;

    /// <summary><c>optim.weight_decay_end</c> (0.4).</summary>
    public double WeightDecayEnd { get; init; } = 0.4;

    /// <summary><c>teacher.momentum_teacher</c> (0.992).</summary>
    public double MomentumTeacher { get; init; } = 0.992;

    /// <summary><c>teacher.final_momentum_teacher</c> (1.0).</summary>
    public double FinalMomentumTeacher { get; init; } = 1.0;

    /// <summary><c>teacher.warmup_teacher_temp</c> (0.04).</summary>
    public double WarmupTeacherTemp { get; init; } = 0.04;

    /// <summary><c>teacher.teacher_temp</c> (0.07).</summary>
    public double TeacherTemp { get; init; } = 0.07;

    /// <summary><c>teacher.warmup_teacher_temp_epochs</c> (30).</summary>
    public int WarmupTeacherTempEpochs { get; init; } = 30;

    /// <summary><c>optim.freeze_last_layer_epochs</c> (1): the head's prototypes get lr 0 this long.</summary>
    public int FreezeLastLayerEpochs { get; init; } = 1;

    /// <summary>The peak lr after batch scaling: BaseLr · √(BatchSize / 1024).</summary>
    public double ScaledLr => BaseLr * Math.Sqrt(BatchSize / 1024.0);

    /// <summary>
    /// Length of the run when it is set by a step count or time budget rather than by epochs: the tables then have
    /// exactly this length and an "epoch" is Iterations / Epochs iterations (not necessarily whole). Null: Epochs · ItersPerEpoch.
    /// </summary>
    public int? Iterations { get; init; }

    /// <summary>Length of every schedule table: <see cref="Iterations"/> when set, else Epochs · ItersPerEpoch.</summary>
    public int TotalIters => Iterations ?? checked(Epochs * ItersPerEpoch);

    /// <summary>The iteration at which <paramref name="epochs"/> schedule epochs end (rounded when epochs are not whole iterations).</summary>
    public int IterationsFor(int epochs) => Iterations is { } n
        ? (int)Math.Round((double)epochs * n / Epochs, MidpointRounding.AwayFromZero)
        : checked(epochs * ItersPerEpoch);
}
