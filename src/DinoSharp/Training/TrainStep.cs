using DinoSharp.Data;
using DinoSharp.Distributed;
using DinoSharp.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>What one training step reports.</summary>
/// <param name="Terms">The loss terms, averaged over the ranks.</param>
/// <param name="GradNorm">The pre-clipping gradient norm, √Σ over the clipping groups of their norms².</param>
/// <param name="SyncSeconds">Seconds spent averaging the loss terms and gradients over the ranks (0 for one process).</param>
public sealed record TrainStepResult(StepTerms Terms, double GradNorm, double SyncSeconds);

/// <summary>
/// The training step, written once: what <see cref="DinoTrainer"/> runs, what the <c>--minutes</c> calibration times
/// and what <see cref="Benchmarking.StepProfiler"/> profiles. Per step: the step's seed (drop path), the schedules'
/// lr and weight decay on every parameter group, gradients set to None, teacher and student forward with the losses and
/// the backward in the step's <see cref="ComputePrecision"/>, the loss terms and gradients averaged over the ranks,
/// per-module gradient clipping (clip_grad = 0: measured, not clipped), AdamW on the float32 master weights, and the
/// teacher EMA.
/// </summary>
public sealed class TrainStep : IDisposable
{
    /// <summary>Spaces the ranks' per-step seeds (drop path) apart; rank 0 keeps the single-process seeds.</summary>
    const long RankSeedStride = 1_000_000_007L;

    /// <summary>What to try when a run diverges (also part of the trainer's messages).</summary>
    internal const string Cures = "Usual cures: a lower optim.base_lr, a larger train.batch_size, a longer optim.warmup_epochs, or a lower optim.clip_grad.";

    readonly SslMetaArch arch;
    readonly ICommunicator comm;
    readonly IReadOnlyList<ParameterGroup> groups;
    readonly IReadOnlyList<AdamW.ParamGroup> optimizerGroups;
    readonly IReadOnlyList<Parameter> studentParameters;
    readonly bool holdFinalizers;

    /// <summary>The AdamW over the student's parameter groups (lr and weight decay are set by every step from the schedules).</summary>
    /// <param name="arch">The student–teacher model (its config gives the optimiser's betas, the clipping and the seed).</param>
    /// <param name="precision">The compute precision of forward and backward (resolved: <see cref="ComputePrecision.Resolve"/>).</param>
    /// <param name="communicator">The ranks of a data-parallel run; null for one process.</param>
    /// <param name="holdFinalizers">Hold the finalizer thread during the step (<see cref="FinalizerHold"/>; see <see cref="TrainingOptions.HoldFinalizers"/>).</param>
    public TrainStep(SslMetaArch arch, Precision precision = Precision.Fp32, ICommunicator? communicator = null, bool holdFinalizers = true)
    {
        ArgumentNullException.ThrowIfNull(arch);
        this.arch = arch;
        comm = communicator ?? new SingleProcessCommunicator();
        this.holdFinalizers = holdFinalizers;
        Precision = ComputePrecision.Resolve(precision);
        var optim = arch.Config.Optim;
        groups = ParameterGroups.Build(arch.Student.named_parameters().Where(p => p.parameter.requires_grad),
            arch.BackboneConfig.Depth, optim.LayerwiseDecay, optim.PatchEmbedLrMult);
        Optimizer = torch.optim.AdamW(
            groups.Select(g => new AdamW.ParamGroup(g.Parameters, new AdamW.Options { LearningRate = 0, weight_decay = 0, beta1 = optim.AdamwBeta1, beta2 = optim.AdamwBeta2 })),
            lr: 0, beta1: optim.AdamwBeta1, beta2: optim.AdamwBeta2);
        optimizerGroups = Optimizer.ParamGroups.Cast<AdamW.ParamGroup>().ToList();
        studentParameters = arch.Student.parameters().ToList();
    }

    /// <summary>The model being trained.</summary>
    public SslMetaArch Arch => arch;
    /// <summary>AdamW over the student's parameter groups; its state is float32 whatever the precision.</summary>
    public AdamW Optimizer { get; }
    /// <summary>The resolved compute precision (<see cref="Precision.Fp32"/> or <see cref="Precision.Bf16"/>).</summary>
    public Precision Precision { get; }

    /// <summary>
    /// Runs step <paramref name="step"/> (0-based) of <paramref name="schedules"/> on <paramref name="batch"/> (already on
    /// the model's device, this rank's shard). A <paramref name="timer"/>, when given, is charged the optimiser, teacher,
    /// student-forward, backward and EMA phases (the caller starts and ends the step).
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss or the gradient norm is not finite; the weights were not updated.</exception>
    public TrainStepResult Run(MultiCropBatch batch, TrainingSchedules schedules, long step, StepTimer? timer = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(schedules);
        var config = arch.Config;
        using var hold = holdFinalizers ? FinalizerHold.Begin() : null;   // other threads (the loader's) allocate while this one is in libtorch
        using var scope = torch.NewDisposeScope();
        // Per-step seed: drop path draws the same numbers whether or not the run was resumed.
        torch.manual_seed(config.Train.Seed * 1_000_003L + step + comm.Rank * RankSeedStride);
        arch.BeforeStep(step);
        double lr = schedules.Lr[step], wd = schedules.WeightDecay[step], lastLayerLr = schedules.LastLayerLr[step];
        for (int g = 0; g < groups.Count; g++)
        {
            optimizerGroups[g].LearningRate = (groups[g].IsLastLayer ? lastLayerLr : lr) * groups[g].LrMultiplier;
            optimizerGroups[g].Options.weight_decay = wd * groups[g].WdMultiplier;
        }
        // Gradients set to None as the reference does (optimizer.zero_grad only zeroes them): a parameter left out of a
        // step's graph is then skipped by AdamW in a resumed run and an uninterrupted one alike.
        arch.Student.zero_grad();
        timer?.Lap(StepPhase.Optimizer);
        StepTerms localTerms;
        using (ComputePrecision.Use(Precision))
            localTerms = arch.ForwardBackward(batch, schedules.TeacherTemp[step], timer);
        var syncClock = System.Diagnostics.Stopwatch.StartNew();
        var terms = MeanOverRanks(localTerms);
        if (!double.IsFinite(terms.Total))
            throw new TrainingDivergedException(DivergenceMessage(step, terms));
        comm.AverageGradients(studentParameters);
        double sync = comm.WorldSize > 1 ? syncClock.Elapsed.TotalSeconds : 0;
        double gradNorm = 0, clip = config.Optim.ClipGrad > 0 ? config.Optim.ClipGrad : double.PositiveInfinity;
        foreach (var module in arch.Student.ClippingGroups())
            gradNorm += Math.Pow(GradientClipping.ClipGradNorm(module.parameters(), clip), 2);
        gradNorm = Math.Sqrt(gradNorm);
        if (!double.IsFinite(gradNorm))
            throw new TrainingDivergedException($"Step {step}: the gradient norm is {gradNorm} (loss {terms.Total:G4}). {Cures}");
        Optimizer.step();
        timer?.Lap(StepPhase.Optimizer);
        ExponentialMovingAverage.Update(arch.Teacher.parameters(), arch.Student.parameters(), schedules.Momentum[step]);
        arch.AfterStep(step);
        timer?.Lap(StepPhase.Ema);
        return new TrainStepResult(terms, gradNorm, sync);
    }

    /// <summary>The step's loss terms averaged over the ranks (means over equal shards: the global batch's values).</summary>
    StepTerms MeanOverRanks(StepTerms t)
    {
        if (comm.WorldSize == 1) return t;
        var v = comm.SumAcrossRanks(t.Total, t.DinoLocal, t.DinoGlobal, t.Koleo, t.Ibot, t.TeacherEntropy, t.CenterNorm, t.Gram)
            .Select(x => x / comm.WorldSize).ToArray();
        return new StepTerms(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], t.GramWeight);
    }

    static string DivergenceMessage(long step, StepTerms t)
    {
        var bad = new[] { ("dino_local", t.DinoLocal), ("dino_global", t.DinoGlobal), ("koleo", t.Koleo), ("ibot", t.Ibot), ("gram", t.Gram) }
            .Where(x => !double.IsFinite(x.Item2)).Select(x => $"{x.Item1} = {x.Item2}");
        return $"Step {step}: the loss is not finite ({string.Join(", ", bad.DefaultIfEmpty($"total = {t.Total}"))}). {Cures}";
    }

    /// <summary>Frees the optimiser state (the model belongs to the caller).</summary>
    public void Dispose() => Optimizer.Dispose();
}
