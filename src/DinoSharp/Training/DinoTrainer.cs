using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DinoSharp.Data;
using DinoSharp.Distributed;
using DinoSharp.Eval;
using DinoSharp.Interop;
using DinoSharp.IO;
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
    /// <summary>Spaces the ranks' per-step seeds (drop path) apart; rank 0 keeps the single-process seeds.</summary>
    const long RankSeedStride = 1_000_000_007L;

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

    /// <summary>Length of the run (the schedules span exactly it) and the ranks it started with, fixed at the start and kept for resume.</summary>
    sealed record RunState(long TotalSteps, string ConfigSha256, int WorldSize = 1);

    /// <summary>Where the run starts, as rank 0 found it in the run folder; <see cref="State"/> is null for a new run.</summary>
    sealed record StartPoint(long Step, RunState? State, double? KnnTop1);

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
        string statePath = Path.Combine(outDir, RunStateFile);
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
        var student = arch.Student;
        var studentParameters = student.parameters().ToList();
        var groups = ParameterGroups.Build(NamedStudentParameters(arch), arch.BackboneConfig.Depth, config.Optim.LayerwiseDecay, config.Optim.PatchEmbedLrMult);
        var optimizer = torch.optim.AdamW(
            groups.Select(g => new AdamW.ParamGroup(g.Parameters, new AdamW.Options { LearningRate = 0, weight_decay = 0, beta1 = config.Optim.AdamwBeta1, beta2 = config.Optim.AdamwBeta2 })),
            lr: 0, beta1: config.Optim.AdamwBeta1, beta2: config.Optim.AdamwBeta2);
        var optimizerGroups = optimizer.ParamGroups.Cast<AdamW.ParamGroup>().ToList();

        var augmentation = new MultiCropAugmentation(config.Crops);
        var collator = MultiCropCollator.ForCrops(config.Crops, arch.BackboneConfig.PatchSize, config.Ibot.MaskSampleProbability,
            config.Ibot.MaskRatioMinMax[0], config.Ibot.MaskRatioMinMax[1]);
        int workers = config.Train.NumWorkers > 0 ? config.Train.NumWorkers : Math.Max(1, Environment.ProcessorCount / 2);
        var loader = new MultiCropDataLoader(dataset, augmentation, collator, config.Train.BatchSize, (ulong)config.Train.Seed, workers,
            log: progress.Warning, shard: comm.WorldSize > 1 ? new Shard(comm.Rank, comm.WorldSize) : null);

        var knn = IsRoot && config.Train.KnnEvery > 0 ? OnlineKnn.TryCreate(config, arch.BackboneConfig, progress) : null;
        var clock = Stopwatch.StartNew();
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
        using var metrics = IsRoot ? new MetricsLog(Path.Combine(outDir, "metrics.jsonl"), append: latest is not null) : null;
        long startStep = start.Step;
        double? lastKnn = start.KnnTop1, bestKnn = start.KnnTop1;
        var runState = start.State;
        if (runState is null)
        {
            if (knn is not null)
            {
                var t0 = clock.Elapsed.TotalSeconds;
                lastKnn = knn.Evaluate(arch.Teacher.Backbone, device);
                metrics?.Write(new StepMetrics { Step = 0, KnnTop1 = lastKnn, ElapsedSeconds = clock.Elapsed.TotalSeconds });
                progress.Message($"kNN top-1 of the untrained teacher: {lastKnn:P1} ({clock.Elapsed.TotalSeconds - t0:F1} s per kNN evaluation).");
            }
            long total = options.MaxSteps ?? (options.MaxMinutes is { } minutes
                ? Calibrate(arch, studentParameters, loader, device, minutes * 60 - clock.Elapsed.TotalSeconds, knn is null ? 0 : clock.Elapsed.TotalSeconds)
                : (long)config.Optim.Epochs * config.Train.OfficialEpochLength);
            total = comm.BroadcastJson(total);
            if (total < 1) throw new ConfigException("The run would have no steps: raise --steps or --minutes.");
            runState = new RunState(total, configSha, comm.WorldSize);
            if (IsRoot) File.WriteAllText(statePath, JsonSerializer.Serialize(runState));
        }
        else if (runState.WorldSize != comm.WorldSize)
        {
            progress.Warning($"The run started with {runState.WorldSize} rank(s) and continues with {comm.WorldSize}: the result will not be bit-identical to an uninterrupted run (KoLeo and drop path work per rank).");
        }
        long totalSteps = runState.TotalSteps;
        // The tables span exactly the planned steps (a run of 450 steps ends its cosine at step 450, not at 500).
        var schedules = TrainingSchedules.Build(ScheduleConfig.For(config, checked((int)totalSteps)));
        double itersPerEpoch = (double)totalSteps / config.Optim.Epochs;
        // A --minutes plan comes from steps timed before training; the machine's speed can differ by ±10 % minutes
        // later. After the first quarter of the plan (at least 10 steps, at most up to the first checkpoint) the plan
        // is made again from the measured rate, once, and the schedules are rebuilt for it (warm-up is over by then;
        // the cosine is stretched or shortened a little).
        long? replanAt = start.State is null && options.MaxSteps is null && options.MaxMinutes is not null
            ? Math.Min(startStep + Math.Max(totalSteps / 4, 10), config.Train.CheckpointEvery)
            : null;
        double loopStart = clock.Elapsed.TotalSeconds, knnSeconds = 0;
        int knnEvaluations = 0;
        string ranks = comm.WorldSize > 1 ? $" ({comm.WorldSize} ranks × {loader.ShardBatchSize})" : "";
        progress.Message($"{totalSteps} steps of batch {config.Train.BatchSize}{ranks} ({itersPerEpoch:0.##} iterations per schedule epoch), {Describe(arch)}.");
        progress.Started(startStep, totalSteps);

        double lnK = Math.Log(config.Dino.HeadNPrototypes), collapseBelow = config.Train.CollapseEntropyThreshold(config.Dino.HeadNPrototypes);
        int collapsedLogs = 0;
        var outcome = TrainingOutcome.Completed;
        double? deadline = options.MaxMinutes * 60;
        long step = startStep;
        var stepClock = Stopwatch.StartNew();
        double dataWait = 0, sync = 0;
        long imagesSinceLog = 0;
        using (var batches = loader.Batches(startStep).GetEnumerator())
        {
            while (step < totalSteps)
            {
                // One rank's signal or clock stops them all, before the step.
                var stop = comm.SumAcrossRanks(cancel.IsCancellationRequested ? 1 : 0, deadline is { } d && clock.Elapsed.TotalSeconds > d ? 1 : 0);
                if (stop[0] > 0) { outcome = TrainingOutcome.Interrupted; break; }
                if (stop[1] > 0) { progress.Warning("Time budget reached before the planned step count."); break; }
                using var hold = options.HoldFinalizers ? FinalizerHold.Begin() : null;   // the loader's threads allocate while this thread is in libtorch
                using var scope = torch.NewDisposeScope();
                var waitStart = stepClock.Elapsed.TotalSeconds;
                batches.MoveNext();
                using var batch = batches.Current;
                dataWait += stepClock.Elapsed.TotalSeconds - waitStart;
                var onDevice = batch.To(device);

                // Per-step seed: drop path draws the same numbers whether or not the run was resumed.
                torch.manual_seed(config.Train.Seed * 1_000_003L + step + comm.Rank * RankSeedStride);
                arch.BeforeStep(step);
                double lr = schedules.Lr[step], wd = schedules.WeightDecay[step], lastLayerLr = schedules.LastLayerLr[step];
                for (int g = 0; g < groups.Count; g++)
                {
                    optimizerGroups[g].LearningRate = (groups[g].IsLastLayer ? lastLayerLr : lr) * groups[g].LrMultiplier;
                    optimizerGroups[g].Options.weight_decay = wd * groups[g].WdMultiplier;
                }
                // Gradients set to None as the reference does (optimizer.zero_grad only zeroes them): a parameter left
                // out of a step's graph is then skipped by AdamW in a resumed run and an uninterrupted one alike.
                student.zero_grad();
                var localTerms = arch.ForwardBackward(onDevice, schedules.TeacherTemp[step]);
                var syncStart = stepClock.Elapsed.TotalSeconds;
                var terms = MeanOverRanks(localTerms);
                if (!double.IsFinite(terms.Total))
                    throw new TrainingDivergedException(DivergenceMessage(step, terms, store));
                comm.AverageGradients(studentParameters);
                sync += stepClock.Elapsed.TotalSeconds - syncStart;
                double gradNorm = 0, clip = config.Optim.ClipGrad > 0 ? config.Optim.ClipGrad : double.PositiveInfinity;
                foreach (var module in student.ClippingGroups())
                    gradNorm += Math.Pow(GradientClipping.ClipGradNorm(module.parameters(), clip), 2);
                gradNorm = Math.Sqrt(gradNorm);
                if (!double.IsFinite(gradNorm))
                    throw new TrainingDivergedException($"Step {step}: the gradient norm is {gradNorm} (loss {terms.Total:G4}). {Cures}{LastGood(store)}");
                optimizer.step();
                ExponentialMovingAverage.Update(arch.Teacher.parameters(), student.parameters(), schedules.Momentum[step]);
                arch.AfterStep(step);
                step++;
                imagesSinceLog += config.Train.BatchSize;

                bool logNow = step % config.Train.LogEvery == 0 || step == totalSteps;
                // Decided from the config alone (only rank 0 evaluates), so every rank logs and checks collapse at the same steps.
                bool knnDue = config.Train.KnnEvery > 0 && (step % config.Train.KnnEvery == 0 || step == totalSteps);
                double? knnTop1 = null;
                if (knnDue && knn is not null)
                {
                    var knnStart = clock.Elapsed.TotalSeconds;
                    knnTop1 = lastKnn = knn.Evaluate(arch.Teacher.Backbone, device);
                    bestKnn = Math.Max(bestKnn ?? 0, knnTop1.Value);
                    knnSeconds += clock.Elapsed.TotalSeconds - knnStart;
                    knnEvaluations++;
                }
                if (logNow || knnDue)
                {
                    double secs = Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9);
                    var m = new StepMetrics
                    {
                        Step = step,
                        Epoch = step / itersPerEpoch,
                        ElapsedSeconds = clock.Elapsed.TotalSeconds,
                        TotalLoss = terms.Total, DinoLocalLoss = terms.DinoLocal, DinoGlobalLoss = terms.DinoGlobal,
                        KoleoLoss = terms.Koleo, IbotLoss = terms.Ibot,
                        GramLoss = config.Gram.UseLoss ? terms.Gram : null, GramLossWeight = config.Gram.UseLoss ? terms.GramWeight : null,
                        Lr = lr, WeightDecay = wd, Momentum = schedules.Momentum[step - 1], TeacherTemp = schedules.TeacherTemp[step - 1],
                        GradNorm = gradNorm, ImagesPerSecond = imagesSinceLog / secs,
                        TeacherEntropy = terms.TeacherEntropy, CenterNorm = terms.CenterNorm,
                        KnnTop1 = knnTop1, DataWaitSeconds = dataWait, SyncSeconds = comm.WorldSize > 1 ? sync : null,
                    };
                    metrics?.Write(m);
                    progress.Step(m, totalSteps);
                    stepClock.Restart();
                    dataWait = sync = 0;
                    imagesSinceLog = 0;
                    if (terms.TeacherEntropy < collapseBelow)
                    {
                        collapsedLogs++;
                        progress.Warning($"Step {step}: teacher entropy {terms.TeacherEntropy:F3} nats is below {config.Train.CollapseEntropyFraction:P0} of log K = {lnK:F2}: the representation may be collapsing (center norm {terms.CenterNorm:F3}).");
                        if (config.Train.CollapsePatience > 0 && collapsedLogs >= config.Train.CollapsePatience)
                        {
                            outcome = TrainingOutcome.Collapsed;
                            break;
                        }
                    }
                    else collapsedLogs = 0;
                }
                if (store is not null && step % config.Train.CheckpointEvery == 0 && step < totalSteps)
                    SaveCheckpoint(store, arch, optimizer, step, knnTop1 ?? lastKnn, loader.SkippedCount, configSha);
                if (step == replanAt && step < totalSteps)
                {
                    // Later steps ran 5–7 % slower than the first ones in two 20-minute runs (steps 600–2220: 0.546 s against
                    // 0.510 s for steps 10–600, kNN included): 8 % keeps the end of the schedule inside the budget.
                    double perStep = (clock.Elapsed.TotalSeconds - loopStart - knnSeconds) / (step - startStep) * 1.08;
                    double perKnn = knnEvaluations > 0 ? knnSeconds / knnEvaluations : 0;
                    double left = options.MaxMinutes!.Value * 60 - clock.Elapsed.TotalSeconds;
                    long replanned = comm.BroadcastJson(step + StepsThatFit(left, perStep, perKnn));
                    if (replanned != totalSteps)
                    {
                        progress.Message($"Re-planned after {step - startStep} steps at {perStep / 1.08:F2} s each: {replanned} steps instead of {totalSteps}.");
                        totalSteps = replanned;
                        schedules = TrainingSchedules.Build(ScheduleConfig.For(config, checked((int)totalSteps)));
                        itersPerEpoch = (double)totalSteps / config.Optim.Epochs;
                        runState = runState with { TotalSteps = totalSteps };
                        if (IsRoot) File.WriteAllText(statePath, JsonSerializer.Serialize(runState));
                    }
                }
            }
        }
        long skipped = (long)comm.SumAcrossRanks(loader.SkippedCount)[0];
        if (store is not null)
            SaveCheckpoint(store, arch, optimizer, step, lastKnn, skipped, configSha);
        if (skipped > 0)
            progress.Warning($"{skipped} unreadable image(s) were skipped.");
        if (outcome == TrainingOutcome.Interrupted)
            return new TrainingResult(outcome, step, outDir, lastKnn, null);

        string backbonePath = Path.Combine(outDir, "teacher_backbone.safetensors");
        if (IsRoot) ExportTeacher(arch, backbonePath);
        return new TrainingResult(outcome, step, outDir, lastKnn, backbonePath);
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

    /// <summary>The step's loss terms averaged over the ranks (means over equal shards: the global batch's values).</summary>
    StepTerms MeanOverRanks(StepTerms t)
    {
        if (comm.WorldSize == 1) return t;
        var v = comm.SumAcrossRanks(t.Total, t.DinoLocal, t.DinoGlobal, t.Koleo, t.Ibot, t.TeacherEntropy, t.CenterNorm, t.Gram)
            .Select(x => x / comm.WorldSize).ToArray();
        return new StepTerms(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], t.GramWeight);
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
    /// Estimates how many steps fit in the remaining budget from the median of five timed steps after two warm-up ones
    /// (their effects are undone). The first two steps run 5–13 % slower than the steady state (0.51–0.55 s against
    /// 0.48–0.49 s in two runs of the default config); with one warm-up step a 20-minute run had planned 0.55 s per
    /// step and finished its 1949 steps in 16.5 minutes. Every rank runs it (the steps communicate); rank 0's estimate
    /// is the one used.
    /// </summary>
    long Calibrate(SslMetaArch arch, IReadOnlyList<Parameter> studentParameters, MultiCropDataLoader loader, Device device, double secondsLeft, double knnSeconds)
    {
        var saved = arch.Objective.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var times = new List<double>();
        const int WarmupSteps = 2, TimedSteps = 5;
        for (int i = 0; i < WarmupSteps + TimedSteps; i++)
        {
            using var scope = torch.NewDisposeScope();
            using var batch = loader.BuildBatch(i);
            var sw = Stopwatch.StartNew();
            arch.ForwardBackward(batch.To(device), config.Teacher.WarmupTeacherTemp);
            comm.AverageGradients(studentParameters);
            if (i >= WarmupSteps) times.Add(sw.Elapsed.TotalSeconds);
            arch.Student.zero_grad();
        }
        double seconds = times.Order().ElementAt(TimedSteps / 2);
        using (torch.no_grad())
            foreach (var (k, t) in arch.Objective.state_dict()) t.copy_(saved[k]);
        // Optimiser, EMA, data wait, logging and checkpoints make a full step 2–9 % longer than the forward/backward
        // timed here (0.485 s): 0.496 s per step over a 20-minute run, 0.526 s over a 2-minute one (its first steps
        // share the cores with the loader filling its queue). 10 % keeps the schedule inside the budget; kNN
        // evaluations are budgeted separately.
        double perStep = seconds * 1.10;
        long steps = StepsThatFit(secondsLeft, perStep, knnSeconds);
        progress.Message($"Calibrated: {seconds:F2} s per forward/backward → {steps} steps fit in the budget.");
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

    static IEnumerable<(string Name, Parameter Parameter)> NamedStudentParameters(SslMetaArch arch) =>
        arch.Student.named_parameters().Where(p => p.parameter.requires_grad);

    void SaveCheckpoint(CheckpointStore store, SslMetaArch arch, AdamW optimizer, long step, double? knn, long skipped, string configSha)
    {
        // A checkpoint is only written from finite weights, so "the last good checkpoint" of a diverged run is good.
        using (torch.NewDisposeScope())
            if (arch.state_dict().FirstOrDefault(kv => kv.Value.is_floating_point() && !torch.isfinite(kv.Value).all().item<bool>()).Key is { } bad)
                throw new TrainingDivergedException($"Step {step}: {bad} is not finite; no checkpoint was written. {Cures}{LastGood(store)}");
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

    const string Cures = "Usual cures: a lower optim.base_lr, a larger train.batch_size, a longer optim.warmup_epochs, or a lower optim.clip_grad.";

    static string LastGood(CheckpointStore? store) =>
        store is null ? "" : store.Latest() is { } c ? $" The last good checkpoint is {c.Path}." : " No checkpoint was written yet.";

    static string DivergenceMessage(long step, StepTerms t, CheckpointStore? store)
    {
        var bad = new[] { ("dino_local", t.DinoLocal), ("dino_global", t.DinoGlobal), ("koleo", t.Koleo), ("ibot", t.Ibot) }
            .Where(x => !double.IsFinite(x.Item2)).Select(x => $"{x.Item1} = {x.Item2}");
        return $"Step {step}: the loss is not finite ({string.Join(", ", bad.DefaultIfEmpty($"total = {t.Total}"))}). {Cures}{LastGood(store)}";
    }
}

/// <summary>What a rank other than 0 reports: warnings only, naming the rank (rank 0 reports everything else).</summary>
file sealed class OtherRankProgress(ITrainingProgress inner, int rank) : ITrainingProgress
{
    public void Started(long startStep, long totalSteps) { }
    public void Step(StepMetrics metrics, long totalSteps) { }
    public void Message(string text) { }
    public void Warning(string text) => inner.Warning($"rank {rank}: {text}");
}
