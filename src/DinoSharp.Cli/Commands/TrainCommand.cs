using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using DinoSharp.Distributed;
using DinoSharp.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

internal sealed class TrainCommand : Command<TrainCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--config <FILE>")]
        [Description("JSON config (sections student, crops, dino, ibot, teacher, optim, train). Default: configs/fashion_mnist_cpu.json's values.")]
        public string? Config { get; init; }

        [CommandOption("--data <DATASET>")]
        [Description("Dataset string: fashion-mnist:train, folder:<path>, idx:<images>[[,<labels>]], list:<file>, or a folder path.")]
        public string? Data { get; init; }

        [CommandOption("--out <DIR>")]
        [Description("Run folder (config.json, metrics.jsonl, checkpoints/, teacher_backbone.safetensors). Default: runs/<date-time>.")]
        public string? Out { get; init; }

        [CommandOption("--minutes <M>")]
        [Description("Wall-clock budget; the step count is calibrated so the schedules end on time.")]
        public double? Minutes { get; init; }

        [CommandOption("--steps <N>")]
        [Description("Number of steps (the schedules span exactly these).")]
        public long? Steps { get; init; }

        [CommandOption("--resume")]
        [Description("Continue from the latest valid checkpoint in --out, with the run's own config.json (--config and --set, when given, must agree with it).")]
        public bool Resume { get; init; }

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override a config key, e.g. --set optim.base_lr=0.001 (repeatable).")]
        public string[] Set { get; init; } = [];
    }

    /// <summary>The command line that continues this run (its config comes from the run folder), quoted for a POSIX shell.</summary>
    static string ResumeCommand(Settings s, string outDir, int ranks)
    {
        var args = ranks > 1 ? new List<string> { "mpirun", "-np", ranks.ToString(CultureInfo.InvariantCulture), "dino", "train" } : ["dino", "train"];
        args.AddRange(["--out", outDir, "--resume"]);
        if (s.Device != "cpu") args.AddRange(["--device", s.Device]);
        return string.Join(' ', args.Select(Quote));
    }

    /// <summary>The command line that trains a <paramref name="steps"/>-step run with the configuration of <paramref name="outDir"/>, in a new folder beside it.</summary>
    static string LongerRunCommand(string outDir, long steps) =>
        string.Join(' ', new[] { "dino", "train", "--config", Path.Combine(outDir, "config.json"), "--steps", steps.ToString(CultureInfo.InvariantCulture),
            "--out", $"{Path.TrimEndingDirectorySeparator(outDir)}-{steps}steps" }.Select(Quote));

    /// <summary>
    /// A resumed run keeps the length it was planned for (the schedules end there): asking for another length is refused
    /// with the command that trains it, and a finished run says so instead of "training" zero steps.
    /// </summary>
    /// <returns>True when the run is already finished (nothing to do).</returns>
    static bool CheckResume(Settings s, string outDir, DinoTrainingConfig config)
    {
        if (DinoTrainer.PlannedSteps(outDir) is not { } planned) return false;
        // Another configuration is the first thing wrong: the trainer refuses it naming the keys that differ.
        string saved = Path.Combine(outDir, "config.json");
        if (!File.Exists(saved) || File.ReadAllText(saved) != TrainingConfigLoader.ToJson(config)) return false;
        if (s.Steps is { } asked && asked != planned)
            throw new UserErrorException(DinoTrainer.ExtensionRefused(outDir, planned, asked) + " That is: " + LongerRunCommand(outDir, asked));
        var latest = new CheckpointStore(Path.Combine(outDir, "checkpoints"), int.MaxValue).Latest();
        if (latest is not { } done || done.State.Step < planned) return false;
        Console.WriteLine($"{outDir} already finished its {planned} steps: nothing to resume. For a longer run: {LongerRunCommand(outDir, 2 * planned)}");
        return true;
    }

    /// <summary>
    /// A run of neither --steps nor --minutes would silently plan the config's whole schedule (125,000 steps for the
    /// default: days on a CPU); it is asked for explicitly instead.
    /// </summary>
    static void RequireLength(Settings s, DinoTrainingConfig config)
    {
        if (s.Steps is not null || s.Minutes is not null) return;
        long full = (long)config.Optim.Epochs * config.Train.OfficialEpochLength;
        throw new UserErrorException(string.Create(CultureInfo.InvariantCulture,
            $"give the run a length: --minutes M (the schedules are fitted to the time) or --steps N. The config's full schedule is {full:N0} steps " +
            $"(optim.epochs {config.Optim.Epochs} × train.official_epoch_length {config.Train.OfficialEpochLength}), hours to days on a CPU; to run it anyway: --steps {full}."));
    }

    static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";

    /// <summary>Images in the training set, for passes over the data; null when it cannot be opened (the trainer then says why).</summary>
    static long? DatasetSize(DinoTrainingConfig config)
    {
        try { return DinoSharp.Data.DatasetSpec.Open(config.Train.Dataset).Count; }
        catch (Exception e) when (e is ArgumentException or IOException or DinoSharp.Data.DatasetNotFoundException or InvalidDataException) { return null; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.Resume && s.Out is null) throw new UserErrorException("--resume needs --out <run folder>.");
        var overrides = s.Set.ToList();
        if (s.Data is not null) overrides.Add("train.dataset=" + s.Data);
        // --resume continues with the run's own config.json (--set and --data apply on top and must leave it unchanged).
        string? runConfig = s.Resume && File.Exists(Path.Combine(s.Out!, "config.json")) ? Path.Combine(s.Out!, "config.json") : null;
        var defaults = s.Config is null && runConfig is null ? DefaultConfigs.FashionMnistCpu : null;
        var config = TrainingConfigLoader.Resolve(s.Config ?? runConfig, overrides, defaults);
        string outDir = s.Out ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
        if (s.Resume && CheckResume(s, outDir, config)) return CliRunner.Ok;
        if (DinoTrainer.PlannedSteps(outDir) is null || !s.Resume) RequireLength(s, config);
        var options = new TrainingOptions
        {
            OutputDir = outDir, MaxMinutes = s.Minutes, MaxSteps = s.Steps, Resume = s.Resume, Device = s.Device, Threads = s.Threads,
        };

        // The first SIGINT / SIGTERM finishes the current step and writes a checkpoint; a second one stops at once.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleTrainingProgress? shown = null;
        void OnSignal(PosixSignalContext ctx)
        {
            if (cts.IsCancellationRequested) return;
            ctx.Cancel = true;
            cts.Cancel();
            string text = $"{ctx.Signal}: stopping after the current step and writing a checkpoint (send it again to stop at once).";
            if (shown is { } p) p.Interrupting(text);
            else Console.Error.WriteLine(text);
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        // Under `mpirun -np N` (N > 1) the ranks train data-parallel; a failing rank ends them all (DinoApp aborts the job),
        // so the communicator is finalised only after a run that every rank finished.
        var comm = Communicator.FromEnvironment();
        long? images = DatasetSize(config);
        TrainingResult result;
        if (CommonSettings.Interactive && !s.Quiet)
        {
            result = null!;
            try
            {
                AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new CountColumn("steps"), new RateColumn("steps"), new EtaColumn())
                    .Start(ctx =>
                    {
                        // Indeterminate (no percentage, no ETA) while the run is being set up and, for --minutes, calibrated.
                        var task = ctx.AddTask("setting up", maxValue: 1);
                        task.IsIndeterminate = true;
                        shown = new ConsoleTrainingProgress(task, s.Quiet, images, config.Train.BatchSize);
                        result = new DinoTrainer(config, options, shown, comm).Run(cts.Token);
                        if (result.Outcome == TrainingOutcome.Completed) task.Value = task.MaxValue;
                        task.StopTask();
                    });
            }
            finally
            {
                shown?.Flush();
                shown = null;
            }
        }
        else
        {
            result = new DinoTrainer(config, options, new ConsoleTrainingProgress(null, s.Quiet, images, config.Train.BatchSize), comm).Run(cts.Token);
        }
        var (root, ranks) = (comm.Rank == 0, comm.WorldSize);
        comm.Dispose();
        if (!root) return result.Outcome == TrainingOutcome.Collapsed ? CliRunner.UserError : CliRunner.Ok;

        switch (result.Outcome)
        {
            case TrainingOutcome.Interrupted:
                Console.WriteLine($"Interrupted at step {result.Steps}; checkpoint written. Continue with: {ResumeCommand(s, outDir, ranks)}");
                break;
            case TrainingOutcome.Collapsed:
                Console.Error.WriteLine($"Stopped at step {result.Steps}: the teacher output collapsed (see metrics.jsonl).");
                return CliRunner.UserError;
            default:
                Console.WriteLine($"Trained {result.Steps} steps. Teacher backbone: {result.TeacherBackbonePath}" +
                    (result.FinalKnnTop1 is { } k ? $" (online kNN@20 {k:P1})" : ""));
                break;
        }
        return CliRunner.Ok;
    }
}
