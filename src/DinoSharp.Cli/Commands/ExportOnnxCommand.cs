using System.ComponentModel;
using System.Globalization;
using DinoSharp.Interop.Onnx;
using DinoSharp.Models;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

/// <summary><c>dino export onnx</c>: a backbone as an ONNX graph for ONNX Runtime (or any ONNX consumer).</summary>
internal sealed class ExportOnnxCommand : Command<ExportOnnxCommand.Settings>
{
    public sealed class Settings : WeightsSettings
    {
        [CommandOption("--out <FILE>")]
        [Description("The .onnx file to write.")]
        public string Out { get; init; } = "";

        [CommandOption("--size <H W>")]
        [Description("Input height and width (--size 224 224, or one number for a square), or dynamic (any size, the position-embedding resize inside the graph); default: the model's preprocessing size.")]
        public string? Size { get; init; }

        [CommandOption("--outputs <LIST>")]
        [Description("Comma-separated graph outputs: cls, patch, registers (default: cls,patch and registers when the model has them).")]
        public string? Outputs { get; init; }

        [CommandOption("--ort-attention")]
        [Description("Write attention as ONNX Runtime's com.microsoft Attention op (faster in ORT; the file then needs ONNX Runtime).")]
        public bool OrtAttention { get; init; }

        [CommandOption("--int8")]
        [Description("Store the Linears' weights in int8 and run them as ONNX Runtime's DynamicQuantizeMatMul (smaller; faster only where docs/performance.md says; embeddings differ from fp32's and get their own identity).")]
        public bool Int8 { get; init; }

        [CommandOption("--opset <N>")]
        [Description("ONNX opset, 17 (default) to 21.")]
        public int Opset { get; init; } = OnnxExporter.DefaultOpset;
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.Model) || string.IsNullOrWhiteSpace(s.Out))
            throw new UserErrorException("--model and --out are required, e.g. dino export onnx --model runs/fmnist --out fmnist.onnx.");
        OutputPath.CheckFile("--out", s.Out);
        s.ApplyThreads();
        var (height, width, dynamic) = ParseSize(s.Size);
        // A square size is also the preprocessing the ONNX backend will apply to images.
        int? square = height is { } h && h == width ? h : null;
        using var resolved = ModelResolver.OpenBackbone(s.Model, s.Request(square));
        var options = new OnnxExportOptions
        {
            Height = height,
            Width = width,
            DynamicImageSize = dynamic,
            Outputs = s.Outputs is null ? null : OnnxMetadata.ParseOutputs(s.Outputs),
            Opset = s.Opset,
            OrtAttention = s.OrtAttention,
            Int8Linears = s.Int8,
            Preprocessing = resolved.Preprocessing,
            Source = resolved.Source,
            SourceSha256 = resolved.WeightsSha256,
        };
        OutputPath.Write(s.Out, staged => OnnxExporter.Export(resolved.Backbone, staged, options));
        if (!s.Quiet)
            Console.WriteLine($"Wrote {s.Out} ({new FileInfo(s.Out).Length / 1e6:F1} MB, {resolved.Source}, " +
                (dynamic ? "any input size" : $"{height ?? resolved.Preprocessing.Size}×{width ?? resolved.Preprocessing.Size} input") + ").");
        else
            Console.WriteLine(s.Out);
        return CliRunner.Ok;
    }

    /// <summary>"H,W" (Program joins `--size H W`), "HxW", "N" or "dynamic".</summary>
    public static (int? Height, int? Width, bool Dynamic) ParseSize(string? text)
    {
        if (text is null) return (null, null, false);
        if (text.Equals("dynamic", StringComparison.OrdinalIgnoreCase)) return (null, null, true);
        var parts = text.Split([',', 'x', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var numbers = parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : -1).ToArray();
        if (numbers.Length is < 1 or > 2 || numbers.Any(v => v < 0))
            throw new UserErrorException($"--size {text}: expected a height and a width (--size 224 224), one number for a square, or dynamic.");
        return (numbers[0], numbers[^1], false);
    }
}
