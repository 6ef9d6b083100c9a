using System.ComponentModel;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

/// <summary>The options of the verbs that evaluate features on a labelled train/test pair (knn, linear).</summary>
internal abstract class LabelledEvalSettings : ModelSettings
{
    [CommandOption("--train <DATASET>")]
    [Description("Labelled training set (dataset string) or embedding store (store:<path>).")]
    public string Train { get; init; } = "";

    [CommandOption("--test <DATASET>")]
    [Description("Labelled test set (dataset string) or embedding store (store:<path>).")]
    public string Test { get; init; } = "";

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
