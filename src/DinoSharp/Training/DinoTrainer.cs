using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DinoSharp.Data;
using DinoSharp.Distributed;
using DinoSharp.Eval;
using DinoSharp.Interop;
using DinoSharp.IO;
using DinoSharp.Layers;
using DinoSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>How a run ended.</summary>
public enum TrainingOutcome
{
    /// <summary>Every planned step ran (or the time budget ended it); the teacher backbone was exported.</summary>
    Completed,
    /// <summary>Cancelled (SIGINT/SIGTERM); the last step was checkpointed and the run can be resumed.</summary>
    Interrupted,
    /// <summary>Stopped because the teacher entropy stayed below the collapse threshold for train.collapse_patience logs; the teacher is still exported.</summary>
    Collapsed,
}

/// <summary>The result of <see cref="DinoTrainer.Run"/>.</summary>
/// <param name="Outcome">Why the run ended.</param>
/// <param name="Steps">Training steps completed (including those before a resume).</param>
/// <param name="OutputDir">The absolute run folder.</param>
/// <param name="FinalKnnTop1">The last online kNN top-1 in [0, 1], or null when online kNN was off or impossible.</param>
/// <param name="TeacherBackbonePath">teacher_backbone.safetensors (Meta layout, model.json beside it), or null when the run was interrupted.</param>
public sealed record TrainingResult(TrainingOutcome Outcome, long Steps, string OutputDir, double? FinalKnnTop1, string? TeacherBackbonePath);

/// <summary>Thrown when a loss or gradient stops being finite; the last good checkpoint is kept.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The training loop: a dispose scope per step; teacher targets, student forward/backward, per-module gradient clipping,
/// AdamW with per-group lr/wd from precomputed schedules, EMA of the teacher, metrics, online kNN and checkpoints.
/// Data-parallel with a <see cref="ICommunicator"/> of N ranks (<c>mpirun -np N</c>): each rank takes 1/N of every
/// global batch, the gradients are averaged before clipping, the centers and Sinkhorn-Knopp span all ranks, every rank
/// starts from rank 0's weights, and only rank 0 reads and writes the run folder. Every decision that ends the loop is
/// taken on values all ranks share, so they leave it at the same step.
/// </summary>
/// <remarks>
/// Process-wide side effect: each step holds the process's finalizer thread (<see cref="FinalizerHold"/>, the
/// work-around for a TorchSharp 0.107 lifetime bug) and forces one gen-0 collection, so a host application's finalizers
/// run only between steps. <see cref="TrainingOptions.HoldFinalizers"/> turns it off.
/// </remarks>
public sealed class DinoTrainer
{
    const string RunStateFile = "run.json";
    readonly DinoTrainingConfig config;
    readonly TrainingOptions options;
    readonly ITrainingProgress progress;
    readonly ICommunicator comm;

    /// <summary>A trainer; nothing is read or built until <see cref="Run"/>.</summary>
    /// <param name="config">The resolved training config.</param>
    /// <param name="options">Run folder, length, resume, device and threads.</param>
    /// <param name="progress">Receives progress and warnings (rank 0's; other ranks pass on only warnings, naming their rank); null prints nothing.</param>
    /// <param name="communicator">The ranks of a data-parallel run; null for one process.</param>
    public DinoTrainer(DinoTrainingConfig config, TrainingOptions options, ITrainingProgress? progress = null, ICommunicator? communicator = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        this.config = config;
        this.options = options;
        comm = communicator ?? new SingleProcessCommunicator();
        progress ??= new SilentProgress();
        this.progress = comm.Rank == 0 ? progress : new OtherRankProgress(progress, comm.Rank);
    }

    /// <summary>Length of the run (the schedules span exactly it), the ranks and the compute precision it started with, fixed at the start and kept for resume.</summary>
    sealed record RunState(long TotalSteps, string ConfigSha256, int WorldSize = 1, Precision? Precision = null);

    /// <summary>Where the run starts, as rank 0 found it in the run folder; <see cref="State"/> is null for a new run.</summary>
    sealed record StartPoint(long Step, RunState? State, double? KnnTop1);

    /// <summary>What a run works with, built once by <see cref="Run"/>; the loop's hooks share it.</summary>
    sealed record Session(string OutDir, string ConfigSha, Device Device, SslMetaArch Arch, TrainStep Step, MultiCropDataLoader Loader,
        OnlineKnn? Knn, CheckpointStore? Store, MetricsLog? Metrics, Stopwatch Clock);

    /// <summary>What changes while the loop runs: the plan, the step, and what the per-step hooks accumulate between logs.</summary>
    sealed class LoopState(RunState plan, TrainingSchedules schedules, long startStep, double? lastKnn)
    {
        public RunState Plan { get; set; } = plan;
        public TrainingSchedules Schedules { get; set; } = schedules;
        public long StartStep { get; } = startStep;
        public long Step { get; set; } = startStep;
        public double? LastKnn { get; set; } = lastKnn;
        public long? ReplanAt { get; set; }
        /// <summary>Step, clock and kNN seconds when the plan was last made again (null: not yet).</summary>
        public (long Step, double Seconds, double KnnSeconds)? Replanned { get; set; }
        public double LoopStartSeconds { get; init; }
        public double KnnSeconds { get; set; }
        public int KnnEvaluations { get; set; }
        public int CollapsedLogs { get; set; }
        public double DataWait { get; set; }
        public double Sync { get; set; }
        public long ImagesSinceLog { get; set; }
        public Stopwatch SinceLog { get; } = Stopwatch.StartNew();
    }

    bool IsRoot => comm.Rank == 0;

    /// <summary>Trains: writes config.json and metrics.jsonl, checkpoints every train.checkpoint_every steps and at the end, and, unless interrupted, teacher_backbone.safetensors and model.json. Cancellation finishes the current step and checkpoints it.</summary>
    /// <exception cref="ConfigException">The config is invalid, the run folder already has checkpoints and resume was not asked for, a resumed config differs, or the dataset is smaller than a batch.</exception>
    /// <exception cref="TrainingDivergedException">A loss, gradient or weight stopped being finite; the last good checkpoint is kept.</exception>
    /// <exception cref="DatasetNotFoundException">The dataset is not installed or the folder holds no images.</exception>
    public TrainingResult Run(CancellationToken cancel = default)
    {
        string outDir = Path.GetFullPath(options.OutputDir);
        ValidateBeforeWork();
        if (options.Threads > 0) torch.set_num_threads(options.Threads);
        var device = torch.device(options.Device);

        string configJson = TrainingConfigLoader.ToJson(config);
        string configSha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(configJson)));
        if (comm.Any(comm.BroadcastJson(configSha) != configSha))
            throw new DistributedSetupException("The ranks were started with different configurations: give every rank the same --config, --set and --data values.");
        // The dataset is checked before the run folder is made: a run refused here leaves nothing behind.
        var dataset = DatasetSpec.Open(config.Train.Dataset);
        if (dataset.Count < config.Train.BatchSize)
            throw new ConfigException(BatchTooLarge(dataset));
        CheckpointStore? store = null;
        (string Path, CheckpointState State)? latest = null;
        var start = new StartPoint(0, null, null);
        // One writer per run folder (rank 0 writes it): a second `dino train --out` on it is refused naming this process.
        using var writer = IsRoot ? WriterLock.ForRunFolder(outDir, progress.Warning) : null;
        if (IsRoot) (store, latest, start) = OpenRunFolder(outDir, configJson, configSha);
        start = comm.BroadcastJson(start);

        torch.manual_seed(config.Train.Seed);
        using var arch = new SslMetaArch(config, comm.WorldSize > 1 ? comm.SumAcrossRanks : null);
        arch.to(device);
        if (IsRoot && config.Student.PretrainedWeights is { } pretrained)
            LoadPretrained(arch, pretrained);
        // precision = auto is decided when a run starts and kept by its resumes (run.json; runs from before the key: fp32),
        // so a resumed run continues in its precision on any CPU.
        var precision = config.Precision == Precision.Auto && start.State is { } resumed ? resumed.Precision ?? Precision.Fp32 : config.Precision;
        using var trainStep = new TrainStep(arch, precision, comm, options.HoldFinalizers);
        string precisionSaid = ComputePrecision.Describe(precision, resumed: start.State is not null);
        if (ComputePrecision.IsEmulated(precision)) progress.Warning(precisionSaid);
        else progress.Message(precisionSaid);
        var loader = BuildLoader(dataset, arch.BackboneConfig.PatchSize);
        var knn = IsRoot && config.Train.KnnEvery > 0 ? OnlineKnn.TryCreate(config, arch.BackboneConfig, progress) : null;
        var clock = Stopwatch.StartNew();
        using var metrics = RestoreState(arch, trainStep.Optimizer, outDir, latest, start);
        var session = new Session(outDir, configSha, device, arch, trainStep, loader, knn, store, metrics, clock);

        var state = PlanSteps(session, start);
        string ranks = comm.WorldSize > 1 ? $" ({comm.WorldSize} ranks × {loader.ShardBatchSize})" : "";
        progress.Message($"{state.Plan.TotalSteps} steps of batch {config.Train.BatchSize}{ranks} ({ItersPerEpoch(state):0.##} iterations per schedule epoch), {Describe(arch)}.");
        progress.Started(state.StartStep, state.Plan.TotalSteps);

        var outcome = Loop(session, state, cancel);
        long step = state.Step;
        long skipped = (long)comm.SumAcrossRanks(loader.SkippedCount)[0];
        if (store is not null)
            SaveCheckpoint(store, arch, trainStep.Optimizer, step, state.LastKnn, skipped, configSha);
        if (skipped > 0)
            progress.Warning($"{skipped} unreadable image(s) were skipped.");
        if (outcome == TrainingOutcome.Interrupted)
            return new TrainingResult(outcome, step, outDir, state.LastKnn, null);

        string backbonePath = Path.Combine(outDir, "teacher_backbone.safetensors");
        if (IsRoot) ExportTeacher(arch, backbonePath);
        return new TrainingResult(outcome, step, outDir, state.LastKnn, backbonePath);
    }

    MultiCropDataLoader BuildLoader(IImageDataset dataset, int patchSize)
    {
        var augmentation = new MultiCropAugmentation(config.Crops);
        var collator = MultiCropCollator.ForCrops(config.Crops, patchSize, config.Ibot.MaskSampleProbability,
            config.Ibot.MaskRatioMinMax[0], config.Ibot.MaskRatioMinMax[1]);
        int workers = config.Train.NumWorkers > 0 ? config.Train.NumWorkers : Math.Max(1, Environment.ProcessorCount / 2);
        return new MultiCropDataLoader(dataset, augmentation, collator, config.Train.BatchSize, (ulong)config.Train.Seed, workers,
            log: progress.Warning, shard: comm.WorldSize > 1 ? new Shard(comm.Rank, comm.WorldSize) : null);
    }

    /// <summary>Resume seam: loads the checkpoint (weights, centers, optimiser state) or starts a fresh metrics log, brings every rank to rank 0's state, and opens rank 0's metrics log.</summary>
    MetricsLog? RestoreState(SslMetaArch arch, AdamW optimizer, string outDir, (string Path, CheckpointState State)? latest, StartPoint start)
    {
        if (latest is { } ckpt)
        {
            LoadCheckpoint(arch, optimizer, ckpt.Path);
            MetricsLog.TruncateAfter(Path.Combine(outDir, "metrics.jsonl"), start.Step);
            progress.Message($"Resumed from {ckpt.Path} (step {start.Step}).");
        }
        else if (IsRoot)
        {
            File.Delete(Path.Combine(outDir, "metrics.jsonl"));
        }
        SynchroniseWithRoot(arch, optimizer, latest?.Path, resumed: start.State is not null);
        return IsRoot ? new MetricsLog(Path.Combine(outDir, "metrics.jsonl"), append: latest is not null) : null;
    }

    /// <summary>
    /// Step-budget seam: a new run evaluates the untrained teacher (online kNN), fixes its length (--steps, --minutes
    /// through <see cref="Calibrate"/>, or the config's epochs) and writes run.json; a resumed run keeps its length.
    /// The schedules are built for that length.
    /// </summary>
    LoopState PlanSteps(Session s, StartPoint start)
    {
        string statePath = Path.Combine(s.OutDir, RunStateFile);
        double? lastKnn = start.KnnTop1;
        var runState = start.State;
        var precision = s.Step.Precision;
        if (runState is null)
        {
            if (s.Knn is not null)
            {
                var t0 = s.Clock.Elapsed.TotalSeconds;
                lastKnn = s.Knn.Evaluate(s.Arch.Teacher.Backbone, s.Device);
                s.Metrics?.Write(new StepMetrics { Step = 0, KnnTop1 = lastKnn, ElapsedSeconds = s.Clock.Elapsed.TotalSeconds });
                progress.Message($"kNN top-1 of the untrained teacher: {lastKnn:P1} ({s.Clock.Elapsed.TotalSeconds - t0:F1} s per kNN evaluation).");
            }
            long total = options.MaxSteps ?? (options.MaxMinutes is { } minutes
                ? Calibrate(s, minutes * 60 - s.Clock.Elapsed.TotalSeconds, s.Knn is null ? 0 : s.Clock.Elapsed.TotalSeconds)
                : (long)config.Optim.Epochs * config.Train.OfficialEpochLength);
            total = comm.BroadcastJson(total);
            if (total < 1) throw new ConfigException("The run would have no steps: raise --steps or --minutes.");
            runState = new RunState(total, s.ConfigSha, comm.WorldSize, precision);
            if (IsRoot) File.WriteAllText(statePath, JsonSerializer.Serialize(runState));
        }
        else if (runState.WorldSize != comm.WorldSize)
        {
            progress.Warning($"The run started with {runState.WorldSize} rank(s) and continues with {comm.WorldSize}: the result will not be bit-identical to an uninterrupted run (KoLeo and drop path work per rank).");
        }
        // A --minutes plan comes from steps timed before training; the machine's speed can differ by ±10 % minutes
        // later. After the first quarter of the plan (at least 10 steps, at most up to the first checkpoint) the plan
        // is made again from the measured rate, and once more half-way through what is left, from the rate since
        // then; each time the schedules are rebuilt for it (warm-up is over by then; the cosine is stretched or
        // shortened a little).
        long? replanAt = start.State is null && options.MaxSteps is null && options.MaxMinutes is not null
            ? Math.Min(start.Step + Math.Max(runState.TotalSteps / 4, 10), config.Train.CheckpointEvery)
            : null;
        // The tables span exactly the planned steps (a run of 450 steps ends its cosine at step 450, not at 500).
        return new LoopState(runState, Schedules(runState.TotalSteps), start.Step, lastKnn)
        {
            ReplanAt = replanAt,
            LoopStartSeconds = s.Clock.Elapsed.TotalSeconds,
        };
    }

    TrainingSchedules Schedules(long totalSteps) => TrainingSchedules.Build(ScheduleConfig.For(config, checked((int)totalSteps)));

    double ItersPerEpoch(LoopState state) => (double)state.Plan.TotalSteps / config.Optim.Epochs;

    /// <summary>The loop: a stop check shared by the ranks, one <see cref="TrainStep"/>, then the per-step hooks.</summary>
    TrainingOutcome Loop(Session s, LoopState state, CancellationToken cancel)
    {
        double? deadline = options.MaxMinutes * 60;
        using var batches = s.Loader.Batches(state.StartStep).GetEnumerator();
        while (state.Step < state.Plan.TotalSteps)
        {
            // One rank's signal or clock stops them all, before the step.
            var stop = comm.SumAcrossRanks(cancel.IsCancellationRequested ? 1 : 0, deadline is { } d && s.Clock.Elapsed.TotalSeconds > d ? 1 : 0);
            if (stop[0] > 0) return TrainingOutcome.Interrupted;
            if (stop[1] > 0) { progress.Warning("Time budget reached before the planned step count."); return TrainingOutcome.Completed; }
            using var hold = options.HoldFinalizers ? FinalizerHold.Begin() : null;   // the loader's threads allocate while this thread is in libtorch (the hooks too)
            using var scope = torch.NewDisposeScope();
            var waitStart = state.SinceLog.Elapsed.TotalSeconds;
            batches.MoveNext();
            using var batch = batches.Current;
            state.DataWait += state.SinceLog.Elapsed.TotalSeconds - waitStart;
            TrainStepResult result;
            try { result = s.Step.Run(batch.To(s.Device), state.Schedules, state.Step); }
            catch (TrainingDivergedException e) { throw new TrainingDivergedException(e.Message + LastGood(s.Store)); }
            state.Sync += result.SyncSeconds;
            state.Step++;
            state.ImagesSinceLog += config.Train.BatchSize;

            var knnTop1 = EvaluateKnnIfDue(s, state);
            if (LogIfDue(s, state, result, knnTop1) == TrainingOutcome.Collapsed) return TrainingOutcome.Collapsed;
            if (s.Store is not null && state.Step % config.Train.CheckpointEvery == 0 && state.Step < state.Plan.TotalSteps)
                SaveCheckpoint(s.Store, s.Arch, s.Step.Optimizer, state.Step, knnTop1 ?? state.LastKnn, s.Loader.SkippedCount, s.ConfigSha);
            ReplanIfDue(s, state);
        }
        return TrainingOutcome.Completed;
    }

    /// <summary>Online-kNN hook: every train.knn_every steps and at the last one, decided from the config alone (only rank 0 evaluates), so every rank logs and checks collapse at the same steps.</summary>
    double? EvaluateKnnIfDue(Session s, LoopState state)
    {
        if (!KnnDue(state) || s.Knn is null) return null;
        var knnStart = s.Clock.Elapsed.TotalSeconds;
        double top1 = s.Knn.Evaluate(s.Arch.Teacher.Backbone, s.Device);
        state.LastKnn = top1;
        state.KnnSeconds += s.Clock.Elapsed.TotalSeconds - knnStart;
        state.KnnEvaluations++;
        return top1;
    }

    bool KnnDue(LoopState state) =>
        config.Train.KnnEvery > 0 && (state.Step % config.Train.KnnEvery == 0 || state.Step == state.Plan.TotalSteps);

    /// <summary>Metrics and collapse hook: writes a metrics line every train.log_every steps (and with each kNN); returns <see cref="TrainingOutcome.Collapsed"/> when the teacher entropy stayed low for train.collapse_patience logs.</summary>
    TrainingOutcome? LogIfDue(Session s, LoopState state, TrainStepResult result, double? knnTop1)
    {
        long step = state.Step;
        if (!(step % config.Train.LogEvery == 0 || step == state.Plan.TotalSteps || KnnDue(state))) return null;
        var terms = result.Terms;
        double secs = Math.Max(state.SinceLog.Elapsed.TotalSeconds, 1e-9);
        var m = new StepMetrics
        {
            Step = step,
            Epoch = step / ItersPerEpoch(state),
            ElapsedSeconds = s.Clock.Elapsed.TotalSeconds,
            TotalLoss = terms.Total, DinoLocalLoss = terms.DinoLocal, DinoGlobalLoss = terms.DinoGlobal,
            KoleoLoss = terms.Koleo, IbotLoss = terms.Ibot,
            GramLoss = config.Gram.UseLoss ? terms.Gram : null, GramLossWeight = config.Gram.UseLoss ? terms.GramWeight : null,
            Lr = state.Schedules.Lr[step - 1], WeightDecay = state.Schedules.WeightDecay[step - 1],
            Momentum = state.Schedules.Momentum[step - 1], TeacherTemp = state.Schedules.TeacherTemp[step - 1],
            GradNorm = result.GradNorm, ImagesPerSecond = state.ImagesSinceLog / secs,
            TeacherEntropy = terms.TeacherEntropy, CenterNorm = terms.CenterNorm,
            KnnTop1 = knnTop1, DataWaitSeconds = state.DataWait, SyncSeconds = comm.WorldSize > 1 ? state.Sync : null,
        };
        s.Metrics?.Write(m);
        progress.Step(m, state.Plan.TotalSteps);
        state.SinceLog.Restart();
        state.DataWait = state.Sync = 0;
        state.ImagesSinceLog = 0;
        double collapseBelow = config.Train.CollapseEntropyThreshold(config.Dino.HeadNPrototypes);
        if (terms.TeacherEntropy >= collapseBelow)
        {
            state.CollapsedLogs = 0;
            return null;
        }
        state.CollapsedLogs++;
        progress.Warning($"Step {step}: teacher entropy {terms.TeacherEntropy:F3} nats is below {config.Train.CollapseEntropyFraction:P0} of log K = {Math.Log(config.Dino.HeadNPrototypes):F2}: the representation may be collapsing (center norm {terms.CenterNorm:F3}).");
        return config.Train.CollapsePatience > 0 && state.CollapsedLogs >= config.Train.CollapsePatience ? TrainingOutcome.Collapsed : null;
    }

    /// <summary>
    /// Step-budget hook of a --minutes run: at <see cref="LoopState.ReplanAt"/> the plan is made again from the measured
    /// rate, then once more half-way through the rest from the rate since the first time.
    /// </summary>
    void ReplanIfDue(Session s, LoopState state)
    {
        long step = state.Step;
        if (step != state.ReplanAt || step >= state.Plan.TotalSteps) return;
        bool first = state.Replanned is null;
        var (fromStep, fromSeconds, fromKnn) = state.Replanned ?? (state.StartStep, state.LoopStartSeconds, 0.0);
        double now = s.Clock.Elapsed.TotalSeconds;
        // bf16 20-minute main jobs on 2 cores ran steps 1,000 on ~20 % slower than steps 0–1,000 (0.215 against
        // 0.18 s; no such change with one thread): 8 % on the first plan, and the second plan, from the slower rate,
        // brings the end of the schedule inside the budget with 2 % to spare.
        double margin = first ? 1.08 : 1.02;
        double perStep = (now - fromSeconds - (state.KnnSeconds - fromKnn)) / (step - fromStep) * margin;
        double perKnn = state.KnnEvaluations > 0 ? state.KnnSeconds / state.KnnEvaluations : 0;
        double left = options.MaxMinutes!.Value * 60 - now;
        long replanned = comm.BroadcastJson(step + StepsThatFit(left, perStep, perKnn));
        state.Replanned = (step, now, state.KnnSeconds);
        state.ReplanAt = first ? step + (Math.Max(replanned, step + 2) - step) / 2 : null;
        if (replanned == state.Plan.TotalSteps) return;
        progress.Message($"Re-planned at step {step} ({step - fromStep} steps at {perStep / margin:F2} s each): {replanned} steps instead of {state.Plan.TotalSteps}.");
        state.Plan = state.Plan with { TotalSteps = replanned };
        state.Schedules = Schedules(replanned);
        if (IsRoot) File.WriteAllText(Path.Combine(s.OutDir, RunStateFile), JsonSerializer.Serialize(state.Plan));
    }

    /// <summary>
    /// Rank 0: creates the run folder, checks it against the request (new run or --resume, same configuration), writes
    /// config.json and finds the checkpoint to continue from.
    /// </summary>
    (CheckpointStore Store, (string Path, CheckpointState State)? Latest, StartPoint Start) OpenRunFolder(string outDir, string configJson, string configSha)
    {
        Directory.CreateDirectory(outDir);
        var store = new CheckpointStore(Path.Combine(outDir, "checkpoints"), config.Train.KeepCheckpoints, progress.Warning);
        var latest = options.Resume ? store.Latest() : null;
        if (!options.Resume && store.Latest() is not null)
            throw new ConfigException($"{outDir} already holds checkpoints. Continue it with --resume, or choose another --out.");
        if (options.Resume && latest is null)
            progress.Warning($"No valid checkpoint in {outDir}; starting from step 0.");
        RunState? runState = null;
        if (latest is not null)
        {
            runState = JsonSerializer.Deserialize<RunState>(File.ReadAllText(Path.Combine(outDir, RunStateFile)));
            if (runState is null || runState.ConfigSha256 != configSha)
                throw new ConfigException(ResumeMismatch(outDir, configJson));
            if (options.MaxSteps is { } asked && asked != runState.TotalSteps)
                throw new ConfigException(ExtensionRefused(outDir, runState.TotalSteps, asked));
        }
        File.WriteAllText(Path.Combine(outDir, "config.json"), configJson);
        return (store, latest, new StartPoint(latest?.State.Step ?? 0, runState, latest?.State.KnnTop1));
    }

    /// <summary>
    /// Every rank continues from rank 0's weights and centers (so they start identical whatever their seeds or files)
    /// and, when resuming, its optimiser state (sent as a file, so the ranks need no shared file system).
    /// </summary>
    void SynchroniseWithRoot(SslMetaArch arch, AdamW optimizer, string? checkpointDir, bool resumed)
    {
        if (comm.WorldSize == 1) return;
        comm.Broadcast(arch.state_dict().Values.ToList());
        if (!resumed) return;
        string received = Path.Combine(Path.GetTempPath(), $"dinosharp-optimizer-{Environment.ProcessId}.bin");
        string path = comm.BroadcastFile(IsRoot ? Path.Combine(checkpointDir!, "optimizer.bin") : "", received);
        if (IsRoot) return;
        try { optimizer.load_state_dict(path); }
        finally { File.Delete(path); }
    }

    void ValidateBeforeWork()
    {
        TrainingConfigValidator.Validate(config);
        if (config.Train.BatchSize % comm.WorldSize != 0)
            throw new ConfigException($"train.batch_size = {config.Train.BatchSize} does not split into {comm.WorldSize} equal shards (mpirun -np {comm.WorldSize}): use a multiple of {comm.WorldSize}.");
        if (options.MaxSteps is < 1) throw new ConfigException($"--steps {options.MaxSteps}: must be at least 1.");
        if (options.MaxMinutes is <= 0) throw new ConfigException($"--minutes {options.MaxMinutes}: must be positive.");
    }

    /// <summary>
    /// Estimates how many steps fit in the remaining budget from <see cref="StepCalibration"/>'s median step time (its
    /// effects are undone). With one warm-up step a 20-minute run had planned 0.55 s per step and finished its 1949
    /// steps in 16.5 minutes; two are used. Every rank runs it (the steps communicate); rank 0's estimate is the one used.
    /// </summary>
    long Calibrate(Session s, double secondsLeft, double knnSeconds)
    {
        double seconds = StepCalibration.MedianSecondsPerStep(s.Arch, s.Loader, s.Step.Precision, s.Device, comm, options.HoldFinalizers);
        // Data wait, logging and checkpoints make a step of the run longer than the step timed here. When only the
        // forward and backward were timed they measured 0.485 s against 0.496 s per step over a 20-minute run and
        // 0.526 s over a 2-minute one (its first steps share the cores with the loader filling its queue), and 10 % kept
        // the schedule inside the budget; the whole step is timed now (optimiser and EMA 2–3 % of it on a quiet
        // machine), and the 10 % is kept rather than re-measured. kNN evaluations are budgeted separately.
        double perStep = seconds * 1.10;
        long steps = StepsThatFit(secondsLeft, perStep, knnSeconds);
        progress.Message($"Calibrated: {seconds:F2} s per training step → {steps} steps fit in the budget.");
        return steps;
    }

    /// <summary>Steps of <paramref name="perStep"/> seconds that fit in <paramref name="seconds"/> together with the online kNN evaluations they trigger (every train.knn_every steps and one at the end, <paramref name="perKnn"/> seconds each); at least 1.</summary>
    long StepsThatFit(double seconds, double perStep, double perKnn)
    {
        long steps = (long)(seconds / perStep);
        if (config.Train.KnnEvery > 0 && perKnn > 0)
            steps = (long)((seconds - perKnn * (1 + steps / (double)config.Train.KnnEvery)) / perStep);
        return Math.Max(steps, 1);
    }

    void SaveCheckpoint(CheckpointStore store, SslMetaArch arch, AdamW optimizer, long step, double? knn, long skipped, string configSha)
    {
        // A checkpoint is only written from finite weights, so "the last good checkpoint" of a diverged run is good.
        using (torch.NewDisposeScope())
            if (arch.state_dict().FirstOrDefault(kv => kv.Value.is_floating_point() && !torch.isfinite(kv.Value).all().item<bool>()).Key is { } bad)
                throw new TrainingDivergedException($"Step {step}: {bad} is not finite; no checkpoint was written. {TrainStep.Cures}{LastGood(store)}");
        store.Write(step, dir =>
        {
            SafetensorsFile.Save(Path.Combine(dir, "model.safetensors"), arch.state_dict());
            optimizer.save_state_dict(Path.Combine(dir, "optimizer.bin"));
        }, new CheckpointState { KnnTop1 = knn, SkippedImages = skipped, ConfigSha256 = configSha });
    }

    static void LoadCheckpoint(SslMetaArch arch, AdamW optimizer, string dir)
    {
        var dict = SafetensorsFile.Load(Path.Combine(dir, "model.safetensors"));
        BackboneCheckpoint.LoadStateDict(arch, dict, Path.Combine(dir, "model.safetensors"));
        optimizer.load_state_dict(Path.Combine(dir, "optimizer.bin"));
    }

    void LoadPretrained(SslMetaArch arch, string path)
    {
        using var _ = torch.no_grad();
        BackboneCheckpoint.Load(arch.Student.Backbone, path, CheckpointLayout.Meta);
        BackboneCheckpoint.Load(arch.Teacher.Backbone, path, CheckpointLayout.Meta);
        progress.Message($"Initialised student and teacher backbones from {path}.");
    }

    void ExportTeacher(SslMetaArch arch, string path)
    {
        // Written under temporary names and renamed: a full disk or a kill leaves no half file under the final names.
        string tmp = path + ".tmp", cardPath = Path.Combine(Path.GetDirectoryName(path)!, "model.json"), cardTmp = cardPath + ".tmp";
        DiskSpace.Write(path, tmp, () => BackboneCheckpoint.SaveMeta(arch.Teacher.Backbone, tmp, new Dictionary<string, string> { ["format"] = "pt", ["source"] = "dinosharp" }),
            arch.Teacher.Backbone.parameters().Sum(p => p.NumberOfElements * p.ElementSize));
        int size = config.Crops.GlobalCropsSize;
        var card = new ModelCard
        {
            Backbone = arch.BackboneConfig with { DropPathRate = 0 },
            Preprocessing = new Preprocessing { Size = size, ResizeShorter = size < 64 ? 0 : (int)Math.Round(size * 256.0 / 224) },
            WeightsSha256 = CheckpointStore.Sha256(tmp),
            Source = "DinoSharp teacher backbone",
        };
        try { DiskSpace.Write(cardPath, cardTmp, () => card.Save(cardTmp)); }
        catch { DiskSpace.Remove(tmp); throw; }
        File.Move(tmp, path, overwrite: true);
        File.Move(cardTmp, cardPath, overwrite: true);
    }

    static string Describe(SslMetaArch arch)
    {
        var c = arch.BackboneConfig;
        long parameters = arch.Student.parameters().Sum(p => p.numel());
        return $"{BackboneCheckpoint.Describe(c)}, student {parameters / 1e6:F2} M parameters";
    }

    static string ResumeMismatch(string outDir, string configJson)
    {
        string saved = Path.Combine(outDir, "config.json");
        var diffs = File.Exists(saved) ? TrainingConfigLoader.Differences(File.ReadAllText(saved), configJson) : [];
        return $"{outDir}: the configuration differs from the one the run started with ({saved})" +
            (diffs.Count > 0 ? $": {string.Join("; ", diffs.Take(5))}{(diffs.Count > 5 ? $" and {diffs.Count - 5} more" : "")}" : "") +
            ". Resume without --config and --set (the run folder's config.json is used), or start a new run with another --out.";
    }

    /// <summary>The steps a run folder was planned for (its schedules span exactly these), or null when it has no plan yet.</summary>
    public static long? PlannedSteps(string runDir)
    {
        string path = Path.Combine(runDir, RunStateFile);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<RunState>(File.ReadAllText(path))?.TotalSteps; }
        catch (JsonException) { return null; }
    }

    /// <summary>Why a run planned for <paramref name="planned"/> steps is not continued to <paramref name="asked"/>.</summary>
    public static string ExtensionRefused(string runDir, long planned, long asked) =>
        $"{runDir} was planned for {planned} steps: its learning-rate, weight-decay, teacher-momentum and temperature schedules end at step {planned}, " +
        $"so continuing it to {asked} would not be the {asked}-step run you asked for. Resume it without --steps, or train a {asked}-step run from the start in another folder.";

    string BatchTooLarge(IImageDataset dataset)
    {
        // The largest power of two that fits and splits into the ranks' equal shards.
        int fit = 1;
        while (fit * 2 <= dataset.Count) fit *= 2;
        int suggestion = Math.Max(comm.WorldSize, fit / comm.WorldSize * comm.WorldSize);
        return $"train.batch_size = {config.Train.BatchSize} is larger than the dataset '{dataset.Name}' ({dataset.Count} images): " +
            $"use --set train.batch_size={suggestion}, or a dataset of at least {config.Train.BatchSize} images.";
    }

    static string LastGood(CheckpointStore? store) =>
        store is null ? "" : store.Latest() is { } c ? $" The last good checkpoint is {c.Path}." : " No checkpoint was written yet.";
}

/// <summary>What a rank other than 0 reports: warnings only, naming the rank (rank 0 reports everything else).</summary>
file sealed class OtherRankProgress(ITrainingProgress inner, int rank) : ITrainingProgress
{
    public void Started(long startStep, long totalSteps) { }
    public void Step(StepMetrics metrics, long totalSteps) { }
    public void Message(string text) { }
    public void Warning(string text) => inner.Warning($"rank {rank}: {text}");
}
