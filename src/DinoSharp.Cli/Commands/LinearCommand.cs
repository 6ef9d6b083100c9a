using System.ComponentModel;
using System.Globalization;
using DinoSharp.Eval;
using Spectre.Console;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

internal sealed class LinearCommand : Command<LinearCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--train <DATASET>")]
        [Description("Labelled training set (a validation split is carved from it) or store:<path>.")]
        public string Train { get; init; } = "";

        [CommandOption("--test <DATASET>")]
        [Description("Labelled test set or store:<path>.")]
        public string Test { get; init; } = "";

        [CommandOption("--epochs <N>")]
        [Description("Probe training epochs (default 10).")]
        public int Epochs { get; init; } = 10;

        [CommandOption("--limit-train <N>")]
        [Description("Use only the first N training images.")]
        public int? LimitTrain { get; init; }

        [CommandOption("--limit-test <N>")]
        [Description("Use only the first N test images.")]
        public int? LimitTest { get; init; }

        [CommandOption("--json <FILE>")]
        [Description("Also write the result as JSON (folders are created).")]
        public string? Json { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.Epochs < 1) throw new UserErrorException($"--epochs {s.Epochs}: must be at least 1.");
        OutputPath.CheckFile("--json", s.Json);
        using var data = LabelledFeatureArguments.Load(s, s.Train, s.Test, s.LimitTrain, s.LimitTest);
        // The library's protocol, standardised features included (LinearProbeOptions.StandardizeFeatures).
        var result = new LinearProbe(new LinearProbeOptions { Epochs = s.Epochs }).Run(data.TrainX, data.TrainY, data.TestX, data.TestY, data.ClassNames.Count);
        var json = new
        {
            model = string.IsNullOrWhiteSpace(s.Model) ? data.Model.ToString() : s.Model,
            identity = data.Model.ToString(),
            train = s.Train,
            test = s.Test,
            top1 = result.TestAccuracy,
            best_lr = result.BestLearningRate,
            validation = result.Validation.ToDictionary(v => v.LearningRate.ToString("G", CultureInfo.InvariantCulture), v => v.ValidationAccuracy),
            per_class = data.ClassNames.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => result.PerClassAccuracy[x.i]),
            confusion_matrix = KnnCommand.ToJagged(result.ConfusionMatrix),
        };
        if (s.Json is not null)
        {
            var outputs = new OutputFiles();
            outputs.AddJson(s.Json, json);
            outputs.Commit();
        }
        if (s.Quiet) Console.WriteLine(result.TestAccuracy.ToString("F4", CultureInfo.InvariantCulture));
        else AnsiConsole.MarkupLine($"Linear probe of [bold]{Markup.Escape(data.Model.ToString())}[/]: test top-1 [bold]{result.TestAccuracy:P2}[/] (best lr {result.BestLearningRate:G3} on validation)");
        return CliRunner.Ok;
    }
}
