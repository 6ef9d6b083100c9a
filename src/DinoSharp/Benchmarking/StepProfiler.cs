using System.Diagnostics;
using DinoSharp.Data;
using DinoSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Benchmarking;

/// <summary>
/// Runs training steps exactly as <see cref="DinoTrainer"/> does (zero_grad, teacher and student forward with losses,
/// backward, per-module gradient clipping, AdamW over the trainer's parameter groups, EMA), with constant schedule
/// values, and times each <see cref="StepPhase"/>. Model-only steps reuse one batch from memory; end-to-end steps take
/// fresh batches from the real multi-threaded loader, so the difference is what data loading costs the step.
/// </summary>
public sealed class StepProfiler : IDisposable
{
    readonly SslMetaArch arch;
    readonly AdamW optimizer;
    readonly MultiCropDataLoader loader;
    readonly double teacherTemp, momentum;

    /// <summary>Builds the student–teacher model, its AdamW over the trainer's parameter groups and the real data loader for <paramref name="config"/> (seeded with train.seed).</summary>
    /// <param name="config">The training config (its dataset is opened for the loader).</param>
    /// <param name="workers">Loader threads; null = the trainer's default (train.num_workers, or half the cores).</param>
    public StepProfiler(DinoTrainingConfig config, int? workers = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        torch.manual_seed(config.Train.Seed);
        arch = new SslMetaArch(config);
        var groups = ParameterGroups.Build(arch.Student.named_parameters().Where(p => p.parameter.requires_grad),
            arch.BackboneConfig.Depth, config.Optim.LayerwiseDecay, config.Optim.PatchEmbedLrMult);
        optimizer = torch.optim.AdamW(
            groups.Select(g => new AdamW.ParamGroup(g.Parameters, new AdamW.Options { LearningRate = 1e-4 * g.LrMultiplier, weight_decay = 0.04 * g.WdMultiplier })),
            lr: 1e-4, beta1: config.Optim.AdamwBeta1, beta2: config.Optim.AdamwBeta2);
        var dataset = DatasetSpec.Open(config.Train.Dataset);
        Workers = workers ?? (config.Train.NumWorkers > 0 ? config.Train.NumWorkers : Math.Max(1, Environment.ProcessorCount / 2));
        loader = new MultiCropDataLoader(dataset, new MultiCropAugmentation(config.Crops),
            MultiCropCollator.ForCrops(config.Crops, arch.BackboneConfig.PatchSize, config.Ibot.MaskSampleProbability,
                config.Ibot.MaskRatioMinMax[0], config.Ibot.MaskRatioMinMax[1]),
            config.Train.BatchSize, (ulong)config.Train.Seed, Workers);
        teacherTemp = config.Teacher.TeacherTemp;
        momentum = config.Teacher.MomentumTeacher;
    }

    /// <summary>The training config the model, optimiser and loader were built from.</summary>
    public DinoTrainingConfig Config { get; }
    /// <summary>The student–teacher model being stepped (owned by the profiler; disposed with it).</summary>
    public SslMetaArch Arch => arch;
    /// <summary>The multi-threaded loader end-to-end steps take their batches from.</summary>
    public MultiCropDataLoader Loader => loader;
    /// <summary>Number of loader threads actually used.</summary>
    public int Workers { get; }

    /// <summary>Steps on one batch built up front (no data loading in the loop).</summary>
    public StepProfile ModelOnly(int warmup, int steps) => Interleaved(warmup, steps, endToEnd: false).ModelOnly;

    /// <summary>Steps on fresh batches from the loader's worker threads.</summary>
    public StepProfile EndToEnd(int warmup, int steps) => Interleaved(warmup, steps, modelOnly: false).EndToEnd;

    /// <summary>
    /// Model-only and end-to-end steps alternated, so that on a shared machine both see the same load and their ratio
    /// is stable. The loader's threads run (and prefetch) during the model-only steps too; at the default config they
    /// need a few percent of one core.
    /// </summary>
    public (StepProfile ModelOnly, StepProfile EndToEnd) Interleaved(int warmup, int steps, bool modelOnly = true, bool endToEnd = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        using var fixedBatch = modelOnly ? loader.BuildBatch(0) : null;
        using var batches = endToEnd ? loader.Batches().GetEnumerator() : null;
        var fixedRun = new Accumulator();
        var loaderRun = new Accumulator();
        for (int i = 0; i < warmup + steps; i++)
        {
            bool timed = i >= warmup;
            if (fixedBatch is not null) TimedStep(fixedRun, () => fixedBatch, owns: false, timed);
            if (batches is not null) TimedStep(loaderRun, () => { batches.MoveNext(); return batches.Current; }, owns: true, timed);
        }
        return (fixedRun.Profile(Config.Train.BatchSize), loaderRun.Profile(Config.Train.BatchSize));
    }

    void TimedStep(Accumulator run, Func<MultiCropBatch> next, bool owns, bool timed)
    {
        using var scope = torch.NewDisposeScope();
        var wall = Stopwatch.StartNew();
        if (timed) run.Timer.StartStep();
        var batch = next();
        var timer = timed ? run.Timer : new StepTimer();
        timer.Lap(StepPhase.DataWait);
        try
        {
            Step(batch, timer, startTimer: false);
            if (!timed) return;
            run.Flops += TrainingStepFlops.PerStep(Config, arch.BackboneConfig, batch);
            run.WallSeconds += wall.Elapsed.TotalSeconds;
        }
        finally
        {
            if (owns) batch.Dispose();
        }
    }

    sealed class Accumulator
    {
        public StepTimer Timer { get; } = new();
        public double WallSeconds { get; set; }
        public double Flops { get; set; }

        public StepProfile Profile(int batchSize)
        {
            int n = Math.Max(Timer.Steps, 1);
            return new StepProfile(Timer.Steps, batchSize, Timer.MeanSeconds(StepPhase.DataWait), Timer.MeanSeconds(StepPhase.Teacher),
                Timer.MeanSeconds(StepPhase.StudentForward), Timer.MeanSeconds(StepPhase.Backward), Timer.MeanSeconds(StepPhase.Optimizer),
                Timer.MeanSeconds(StepPhase.Ema), WallSeconds / n, Flops / n);
        }
    }

    /// <summary>Runs <paramref name="steps"/> end-to-end steps and reports resident memory after each step listed in <paramref name="sampleAfter"/>.</summary>
    public IReadOnlyList<(int Step, long Rss, long PeakRss)> MemoryOverRun(int steps, IReadOnlyCollection<int> sampleAfter, Action<int>? progress = null)
    {
        var samples = new List<(int, long, long)>();
        var timer = new StepTimer();
        using var batches = loader.Batches().GetEnumerator();
        for (int step = 1; step <= steps; step++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                batches.MoveNext();
                using var batch = batches.Current;
                Step(batch, timer);
            }
            progress?.Invoke(step);
            if (sampleAfter.Contains(step))
            {
                var (rss, peak) = ResidentMemory.Read();
                samples.Add((step, rss, peak));
            }
        }
        return samples;
    }

    void Step(MultiCropBatch batch, StepTimer timer, bool startTimer = true)
    {
        if (startTimer) timer.StartStep();
        using var hold = FinalizerHold.Begin();   // as in DinoTrainer: the loader's threads allocate during the step
        optimizer.zero_grad();
        timer.Lap(StepPhase.Optimizer);
        arch.ForwardBackward(batch, teacherTemp, timer);
        foreach (var module in arch.Student.ClippingGroups())
            GradientClipping.ClipGradNorm(module.parameters(), Config.Optim.ClipGrad);
        optimizer.step();
        timer.Lap(StepPhase.Optimizer);
        ExponentialMovingAverage.Update(arch.Teacher.parameters(), arch.Student.parameters(), momentum);
        timer.Lap(StepPhase.Ema);
        timer.EndStep();
    }

    /// <summary>Frees the optimiser state and the model's tensors.</summary>
    public void Dispose()
    {
        optimizer.Dispose();
        arch.Dispose();
    }
}
