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
        [Description("Continue from the latest valid checkpoint in --out.")]
        public bool Resume { get; init; }

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override a config key, e.g. --set optim.base_lr=0.001 (repeatable).")]
        public string[] Set { get; init; } = [];
    }

    /// <summary>The command line that continues this run, quoted for a POSIX shell.</summary>
    static string ResumeCommand(Settings s, string outDir, int ranks)
    {
        var args = ranks > 1 ? new List<string> { "mpirun", "-np", ranks.ToString(CultureInfo.InvariantCulture), "dino", "train" } : ["dino", "train"];
        if (s.Config is not null) args.AddRange(["--config", s.Config]);
        if (s.Data is not null) args.AddRange(["--data", s.Data]);
        args.AddRange(["--out", outDir, "--resume"]);
        foreach (var x in s.Set) args.AddRange(["--set", x]);
        if (s.Device != "cpu") args.AddRange(["--device", s.Device]);
        return string.Join(' ', args.Select(Quote));
    }

    static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var overrides = s.Set.ToList();
        if (s.Data is not null) overrides.Add("train.dataset=" + s.Data);
        var defaults = s.Config is null ? DefaultConfigs.FashionMnistCpu : null;
        var config = TrainingConfigLoader.Resolve(s.Config, overrides, defaults);
        string outDir = s.Out ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
        if (s.Resume && s.Out is null) throw new UserErrorException("--resume needs --out <run folder>.");
        var options = new TrainingOptions
        {
            OutputDir = outDir, MaxMinutes = s.Minutes, MaxSteps = s.Steps, Resume = s.Resume, Device = s.Device, Threads = s.Threads,
        };

        // The first SIGINT / SIGTERM finishes the current step and writes a checkpoint; a second one stops at once.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext ctx)
        {
            if (cts.IsCancellationRequested) return;
            ctx.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine($"{ctx.Signal}: stopping after the current step and writing a checkpoint (send it again to stop at once).");
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        // Under `mpirun -np N` (N > 1) the ranks train data-parallel; a failing rank ends them all (DinoApp aborts the job),
        // so the communicator is finalised only after a run that every rank finished.
        var comm = Communicator.FromEnvironment();
        TrainingResult result;
        if (CommonSettings.Interactive && !s.Quiet)
        {
            result = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: 1);
                    result = new DinoTrainer(config, options, new ConsoleTrainingProgress(task, s.Quiet), comm).Run(cts.Token);
                });
        }
        else
        {
            result = new DinoTrainer(config, options, new ConsoleTrainingProgress(null, s.Quiet), comm).Run(cts.Token);
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
