namespace DinoSharp.Training;

/// <summary>
/// What the schedule tables of a run are built from: the <c>optim</c> and <c>teacher</c> sections of its
/// <see cref="DinoTrainingConfig"/>, the peak learning rate the config's <see cref="OptimConfig.ScalingRule"/> gives
/// for its batch size, and the run's length. Made only by <see cref="For"/>, which checks the config with
/// <see cref="TrainingConfigValidator.ValidateSchedules"/>, so a config that validates always builds its schedules.
/// </summary>
public sealed class ScheduleConfig
{
    ScheduleConfig(OptimConfig optim, TeacherConfig teacher, double peakLr, int iterations)
    {
        Optim = optim;
        Teacher = teacher;
        PeakLr = peakLr;
        Iterations = iterations;
    }

    /// <summary>The lr, weight-decay, warm-up and freeze settings (<c>optim</c>).</summary>
    public OptimConfig Optim { get; }

    /// <summary>The teacher momentum and temperature settings (<c>teacher</c>).</summary>
    public TeacherConfig Teacher { get; }

    /// <summary>The lr the schedule peaks at: <c>optim.base_lr</c> scaled by <c>optim.scaling_rule</c> for <c>train.batch_size</c>.</summary>
    public double PeakLr { get; }

    /// <summary>Length of every table; a schedule "epoch" is Iterations / <c>optim.epochs</c> iterations (not necessarily whole).</summary>
    public int Iterations { get; }

    /// <summary>The schedule settings of <paramref name="config"/> for a run of <paramref name="iterations"/> steps.</summary>
    /// <exception cref="ConfigException">A schedule setting is out of range (the validator's message, naming the key).</exception>
    public static ScheduleConfig For(DinoTrainingConfig config, int iterations)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        TrainingConfigValidator.ValidateSchedules(config);
        return new ScheduleConfig(config.Optim, config.Teacher, config.Optim.ScaledLr(config.Train.BatchSize), iterations);
    }

    /// <summary>The iteration at which <paramref name="epochs"/> schedule epochs end (rounded half away from zero).</summary>
    public int IterationsFor(int epochs) =>
        (int)Math.Round((double)epochs * Iterations / Optim.Epochs, MidpointRounding.AwayFromZero);
}
