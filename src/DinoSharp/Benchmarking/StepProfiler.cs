using System.Diagnostics;
using DinoSharp.Data;
using DinoSharp.Layers;
using DinoSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Benchmarking;

/// <summary>
/// Times the trainer's own <see cref="TrainStep"/> — the same model, optimiser groups, schedules, seeds, clipping and
/// EMA — phase by phase (<see cref="StepPhase"/>). Model-only steps reuse one batch from memory; end-to-end steps take
/// fresh batches from the real multi-threaded loader, so the difference is what data loading costs the step.
/// </summary>
public sealed class StepProfiler : IDisposable
{
    readonly DinoTrainingConfig config;
    readonly SslMetaArch arch;
    readonly TrainStep trainStep;
    readonly TrainingSchedules schedules;
    long step;

    /// <summary>Builds the student–teacher model as the trainer does (seeded with train.seed), its <see cref="TrainStep"/> and the real data loader.</summary>
    /// <param name="config">The training config (its dataset is opened for the loader).</param>
    /// <param name="workers">Loader threads; null = the trainer's default (train.num_workers, or half the cores).</param>
    /// <param name="precision">The compute precision; null = the config's.</param>
    /// <param name="totalSteps">Length of the schedules the steps index (null = the config's epochs × official epoch length); profiled steps are 0, 1, 2, … of them.</param>
    public StepProfiler(DinoTrainingConfig config, int? workers = null, Precision? precision = null, long? totalSteps = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        this.config = config;
        torch.manual_seed(config.Train.Seed);
        arch = new SslMetaArch(config);
        trainStep = new TrainStep(arch, precision ?? config.Precision);
        schedules = TrainingSchedules.Build(ScheduleConfig.For(config, checked((int)(totalSteps ?? (long)config.Optim.Epochs * config.Train.OfficialEpochLength))));
        var dataset = DatasetSpec.Open(config.Train.Dataset);
        Workers = workers ?? (config.Train.NumWorkers > 0 ? config.Train.NumWorkers : Math.Max(1, Environment.ProcessorCount / 2));
        Loader = new MultiCropDataLoader(dataset, new MultiCropAugmentation(config.Crops),
            MultiCropCollator.ForCrops(config.Crops, arch.BackboneConfig.PatchSize, config.Ibot.MaskSampleProbability,
                config.Ibot.MaskRatioMinMax[0], config.Ibot.MaskRatioMinMax[1]),
            config.Train.BatchSize, (ulong)config.Train.Seed, Workers);
    }

    /// <summary>The step being profiled (its model and optimiser belong to the profiler).</summary>
    public TrainStep TrainStep => trainStep;
    /// <summary>The multi-threaded loader end-to-end steps take their batches from.</summary>
    public MultiCropDataLoader Loader { get; }
    /// <summary>Number of loader threads actually used.</summary>
    public int Workers { get; }

    /// <summary>
    /// Model-only and end-to-end steps alternated, so that on a shared machine both see the same load and their ratio
    /// is stable. The loader's threads run (and prefetch) during the model-only steps too; at the default config they
    /// need a few percent of one core.
    /// </summary>
    public (StepProfile ModelOnly, StepProfile EndToEnd) Interleaved(int warmup, int steps, bool modelOnly = true, bool endToEnd = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        using var session = new Session(this, modelOnly, endToEnd);
        for (int i = 0; i < warmup + steps; i++) session.Next(timed: i >= warmup);
        return session.Profiles();
    }

    /// <summary>
    /// <see cref="Interleaved"/> on two profilers at once (e.g. the same config in fp32 and in bf16), their steps
    /// alternated so that on a shared machine both see the same load and their ratio is what counts.
    /// </summary>
    public static ((StepProfile ModelOnly, StepProfile EndToEnd) First, (StepProfile ModelOnly, StepProfile EndToEnd) Second) Alternated(
        StepProfiler first, StepProfiler second, int warmup, int steps, bool endToEnd = true)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        using var a = new Session(first, true, endToEnd);
        using var b = new Session(second, true, endToEnd);
        for (int i = 0; i < warmup + steps; i++)
        {
            a.Next(timed: i >= warmup);
            b.Next(timed: i >= warmup);
        }
        return (a.Profiles(), b.Profiles());
    }

    /// <summary>One profiling pass: a fixed batch and/or the loader's stream, and what their steps measured.</summary>
    sealed class Session(StepProfiler owner, bool modelOnly, bool endToEnd) : IDisposable
    {
        readonly MultiCropBatch? fixedBatch = modelOnly ? owner.Loader.BuildBatch(0) : null;
        readonly IEnumerator<MultiCropBatch>? batches = endToEnd ? owner.Loader.Batches().GetEnumerator() : null;
        readonly Accumulator fixedRun = new(), loaderRun = new();

        public void Next(bool timed)
        {
            if (fixedBatch is not null) owner.TimedStep(fixedRun, () => fixedBatch, owns: false, timed);
            if (batches is not null) owner.TimedStep(loaderRun, () => { batches.MoveNext(); return batches.Current; }, owns: true, timed);
        }

        public (StepProfile ModelOnly, StepProfile EndToEnd) Profiles() =>
            (fixedRun.Profile(owner.config.Train.BatchSize), loaderRun.Profile(owner.config.Train.BatchSize));

        public void Dispose()
        {
            fixedBatch?.Dispose();
            batches?.Dispose();
        }
    }

    void TimedStep(Accumulator run, Func<MultiCropBatch> next, bool owns, bool timed)
    {
        using var scope = torch.NewDisposeScope();
        var wall = Stopwatch.StartNew();
        var timer = timed ? run.Timer : new StepTimer();
        timer.StartStep();
        var batch = next();
        timer.Lap(StepPhase.DataWait);
        try
        {
            Step(batch, timer);
            if (!timed) return;
            run.Flops += TrainingStepFlops.PerStep(config, arch.BackboneConfig, batch);
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
        using var batches = Loader.Batches().GetEnumerator();
        for (int i = 1; i <= steps; i++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                batches.MoveNext();
                using var batch = batches.Current;
                timer.StartStep();
                Step(batch, timer);
            }
            progress?.Invoke(i);
            if (sampleAfter.Contains(i))
            {
                var (rss, peak) = ResidentMemory.Read();
                samples.Add((i, rss, peak));
            }
        }
        return samples;
    }

    /// <summary>The next step of the schedules (wrapping round after their end).</summary>
    void Step(MultiCropBatch batch, StepTimer timer)
    {
        trainStep.Run(batch, schedules, step, timer);
        timer.EndStep();
        step = (step + 1) % schedules.TotalIters;
    }

    /// <summary>Frees the optimiser state and the model's tensors.</summary>
    public void Dispose()
    {
        trainStep.Dispose();
        arch.Dispose();
    }
}
