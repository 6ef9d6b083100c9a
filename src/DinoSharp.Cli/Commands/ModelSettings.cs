using System.ComponentModel;
using DinoSharp.Interop;
using DinoSharp.Layers;
using DinoSharp.Models;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

/// <summary>Options of every command that reads backbone weights: --model, --arch, --layout.</summary>
internal class WeightsSettings : CommonSettings
{
    [CommandOption("--model <MODEL>")]
    [Description("A run folder, a Hugging Face folder, a backbone .safetensors/.pth (with model.json beside it, --arch-file or --arch), random:<arch|config>; for embedding commands also a .onnx file from dino export onnx or raw[[:size]].")]
    public string Model { get; init; } = "";

    [CommandOption("--arch <NAME>")]
    [Description("Architecture when the weights have no model.json (vit_small, vit_base_reg4, dinov2_vits14, ...).")]
    public string? Arch { get; init; }

    [CommandOption("--arch-file <MODEL_JSON>")]
    [Description("A model.json describing the weights' architecture and preprocessing (docs/model-json.md), for sizes no --arch name covers.")]
    public string? ArchFile { get; init; }

    [CommandOption("--layout <LAYOUT>")]
    [Description("Key layout of a weights file: meta (default), hf, teacher, student.")]
    public string Layout { get; init; } = "meta";

    /// <summary>The library's request for these options.</summary>
    public ModelRequest Request(int? imageSize = null, FeatureKind kind = FeatureKind.Cls, int rawSize = 28) => new()
    {
        Kind = kind, Arch = Arch, ArchFile = ArchFile, ImageSize = imageSize, Layout = ParseLayout(Layout),
        Device = TorchSharp.torch.device(Device), RawSize = rawSize, Threads = Threads,
    };

    /// <summary>--layout as the library's enum.</summary>
    public static CheckpointLayout ParseLayout(string layout) => layout.ToLowerInvariant() switch
    {
        "meta" => CheckpointLayout.Meta,
        "hf" or "huggingface" => CheckpointLayout.HuggingFace,
        "teacher" => CheckpointLayout.MetaTrainingTeacher,
        "student" => CheckpointLayout.MetaTrainingStudent,
        _ => throw new UserErrorException($"--layout {layout}: use meta, hf, teacher or student."),
    };
}

/// <summary>Options of every command that embeds images with a model.</summary>
internal class ModelSettings : WeightsSettings
{
    [CommandOption("--backend <BACKEND>")]
    [Description("torch, onnx (--model is then a file from `dino export onnx`, run by ONNX Runtime on the CPU), or auto (default: onnx for a .onnx model, else torch).")]
    public string Backend { get; init; } = "auto";

    [CommandOption("--features <KIND>")]
    [Description("cls (default), avgpatch, cls+avgpatch or last4+avgpatch.")]
    public string? Features { get; init; }

    [CommandOption("--image-size <N>")]
    [Description("Model input size (default: the model's own).")]
    public int? ImageSize { get; init; }

    [CommandOption("--batch-size <N>")]
    [Description("Images per forward pass (default 256).")]
    public int BatchSize { get; init; } = 256;

    [CommandOption("--precision <P>")]
    [Description("fp32 (default, the library's default too), bf16, or auto (bf16 where the CPU multiplies bfloat16 natively, else fp32): the backbone's matrix products (torch backend). search defaults to the store's.")]
    public string? Precision { get; init; }

    /// <summary>Opens --model; <paramref name="defaultFeatures"/> applies when --features is not given, <paramref name="defaultPrecision"/> (e.g. a store's) when --precision is not given.</summary>
    public IImageEmbedder OpenModel(int rawSize = 28, string defaultFeatures = "cls", string? model = null, string defaultPrecision = "fp32")
    {
        model ??= Model;
        if (string.IsNullOrWhiteSpace(model)) throw new UserErrorException("--model is required (a run folder, a backbone file, raw, or random:<arch>).");
        if (BatchSize < 1) throw new UserErrorException($"--batch-size {BatchSize}: must be at least 1.");
        ApplyThreads();
        var precision = ParsePrecision(Precision ?? defaultPrecision);
        if (model.StartsWith("random:", StringComparison.Ordinal)) Messages.Note(ModelResolver.DescribeRandom(model["random:".Length..]), Quiet);
        // Raw pixels have no feature kind: a raw store's "pixels" (search reuses a store's kind) is not one to parse.
        var kind = ModelResolver.IsRawPixels(model) ? FeatureKind.Cls : BackboneEmbedder.ParseKind(Features ?? defaultFeatures);
        var request = Request(ImageSize, kind, ModelResolver.RawSizeFor(rawSize));
        var embedder = Backend.ToLowerInvariant() switch
        {
            "auto" => ModelResolver.Open(model, request),
            "onnx" => OnnxModelFormat.Instance.Open(model, request),
            "torch" => ModelResolver.Open(model, request, formats: []),
            _ => throw new UserErrorException($"--backend {Backend}: use torch, onnx or auto."),
        };
        if (embedder is BackboneEmbedder backbone)
        {
            backbone.Extractor.Precision = ComputePrecision.Resolve(precision);
            if (ComputePrecision.IsEmulated(precision)) Messages.Warning(ComputePrecision.Describe(precision));
            else if (precision == Layers.Precision.Auto) Messages.Note(ComputePrecision.Describe(precision), Quiet);
        }
        else if (precision == Layers.Precision.Bf16 && embedder is OnnxBackboneEmbedder)
        {
            embedder.Dispose();
            throw new UserErrorException("--precision bf16: the ONNX backend runs float32; use --backend torch for bf16.");
        }
        return embedder;
    }

    /// <summary>The --precision value.</summary>
    public static Layers.Precision ParsePrecision(string text)
    {
        try { return ComputePrecision.Parse(text); }
        catch (ArgumentException e) { throw new UserErrorException("--precision " + e.Message); }
    }

    /// <summary>The --model string as it can be re-opened later from another folder: paths made absolute.</summary>
    public static string SourceOf(string model) =>
        File.Exists(model) || Directory.Exists(model) ? Path.GetFullPath(model) : model;
}
