using System.ComponentModel;
using System.Globalization;
using DinoSharp.Data;
using DinoSharp.Eval;
using Spectre.Console;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

internal sealed class KnnCommand : Command<KnnCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--train <DATASET>")]
        [Description("Labelled training set (dataset string) or embedding store (store:<path>).")]
        public string Train { get; init; } = "";

        [CommandOption("--test <DATASET>")]
        [Description("Labelled test set (dataset string) or embedding store (store:<path>).")]
        public string Test { get; init; } = "";

        [CommandOption("--ks <LIST>")]
        [Description("Neighbour counts, comma-separated (default 10,20,100,200); also spelled --k.")]
        public string K { get; init; } = "10,20,100,200";

        [CommandOption("--temperature <T>")]
        [Description("Vote weight exp(similarity / T) (default 0.07).")]
        public double Temperature { get; init; } = 0.07;

        [CommandOption("--limit-train <N>")]
        [Description("Use only the first N training images.")]
        public int? LimitTrain { get; init; }

        [CommandOption("--limit-test <N>")]
        [Description("Use only the first N test images.")]
        public int? LimitTest { get; init; }

        [CommandOption("--json <FILE>")]
        [Description("Also write the result as JSON.")]
        public string? Json { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var ks = ParseKs(s.K);
        OutputPath.CheckFile("--json", s.Json);
        using var data = LabelledFeatureArguments.Load(s, s.Train, s.Test, s.LimitTrain, s.LimitTest);
        using var knn = new KnnClassifier(data.TrainX, data.TrainY, data.ClassNames.Count, new KnnOptions { Ks = ks, Temperature = s.Temperature });
        var result = knn.Evaluate(data.TestX, data.TestY);
        var json = new
        {
            model = string.IsNullOrWhiteSpace(s.Model) ? data.Model.ToString() : s.Model,
            identity = data.Model.ToString(),
            train = s.Train,
            test = s.Test,
            n_train = data.TrainX.shape[0],
            n_test = data.TestX.shape[0],
            top1 = result.PerK.ToDictionary(a => a.K.ToString(CultureInfo.InvariantCulture), a => a.Top1),
            best_k = result.BestK,
            per_class = data.ClassNames.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => result.PerClassAccuracy[x.i]),
            confusion_matrix = ToJagged(result.ConfusionMatrix),
        };
        if (s.Json is not null)
        {
            var outputs = new OutputFiles();
            outputs.AddJson(s.Json, json);
            outputs.Commit();
        }
        if (!s.Quiet)
        {
            var table = new Table().AddColumn("k").AddColumn("top-1");
            foreach (var a in result.PerK) table.AddRow(a.K.ToString(CultureInfo.InvariantCulture), a.Top1.ToString("P2", CultureInfo.InvariantCulture));
            // A plain line wraps where a rule's title would be cut, and the feature kind is at its end.
            AnsiConsole.MarkupLine($"[bold]kNN[/] of {Markup.Escape(data.Model.ToString())}");
            AnsiConsole.Write(table);
        }
        else
        {
            Console.WriteLine(string.Join(" ", result.PerK.Select(a => $"k={a.K}:{a.Top1.ToString("F4", CultureInfo.InvariantCulture)}")));
        }
        return CliRunner.Ok;
    }

    public static int[] ParseKs(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ks = new List<int>();
        foreach (var p in parts)
        {
            if (!int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) || k <= 0)
                throw new UserErrorException($"--k {text}: '{p}' is not a positive whole number.");
            ks.Add(k);
        }
        if (ks.Count == 0) throw new UserErrorException("--k needs at least one value, e.g. --k 10,20,100,200.");
        return ks.ToArray();
    }

    public static long[][] ToJagged(long[,] m) =>
        Enumerable.Range(0, m.GetLength(0)).Select(i => Enumerable.Range(0, m.GetLength(1)).Select(j => m[i, j]).ToArray()).ToArray();
}
