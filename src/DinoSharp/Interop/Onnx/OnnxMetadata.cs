using System.Text.Json;
using DinoSharp.Models;

namespace DinoSharp.Interop.Onnx;

/// <summary>The metadata_props an exported model carries, and their parsing on the way back in.</summary>
/// <param name="Architecture">The backbone configuration, to rebuild preprocessing and check embedding sizes.</param>
/// <param name="Preprocessing">How images become input: resize, crop and normalisation.</param>
/// <param name="Source">Where the weights came from (run folder, file or architecture name).</param>
/// <param name="SourceSha256">Hex SHA-256 of the weights file; part of the embedding identity.</param>
/// <param name="Height">Fixed input height in pixels, or null for a graph that takes any size.</param>
/// <param name="Width">Fixed input width in pixels, or null for a graph that takes any size.</param>
/// <param name="Outputs">The graph outputs present.</param>
/// <param name="Precision">The arithmetic of the Linears: "fp32", or "int8" for <see cref="OnnxExportOptions.Int8Linears"/>; part of the embedding identity.</param>
public sealed record OnnxMetadata(VisionTransformerConfig Architecture, Preprocessing Preprocessing, string Source, string SourceSha256,
    int? Height, int? Width, OnnxOutputs Outputs, string Precision = Eval.ModelIdentity.DefaultPrecision)
{
    /// <summary>True when the graph takes any image size (a multiple of the patch size).</summary>
    public bool DynamicImageSize => Height is null || Width is null;

    /// <summary>metadata_props key of <see cref="Architecture"/> (JSON).</summary>
    public const string ArchitectureKey = "dinosharp.architecture";
    /// <summary>metadata_props key of <see cref="Preprocessing"/> (JSON).</summary>
    public const string PreprocessingKey = "dinosharp.preprocessing";
    /// <summary>metadata_props key of <see cref="Source"/>.</summary>
    public const string SourceKey = "dinosharp.source";
    /// <summary>metadata_props key of <see cref="SourceSha256"/>.</summary>
    public const string SourceSha256Key = "dinosharp.source_sha256";
    /// <summary>metadata_props key of the input size: "HxW" in pixels, or "dynamic".</summary>
    public const string ImageSizeKey = "dinosharp.image_size";
    /// <summary>metadata_props key of <see cref="Outputs"/>, as <see cref="FormatOutputs"/> writes it.</summary>
    public const string OutputsKey = "dinosharp.outputs";
    /// <summary>metadata_props key of <see cref="Precision"/> (absent in files written before it existed: fp32).</summary>
    public const string PrecisionKey = "dinosharp.precision";

    /// <summary>The metadata as the key → string pairs stored in the model's metadata_props (read back by <see cref="Parse"/>).</summary>
    public IReadOnlyDictionary<string, string> ToProperties() => new Dictionary<string, string>
    {
        [ArchitectureKey] = JsonSerializer.Serialize(Architecture, ModelCard.Json),
        [PreprocessingKey] = JsonSerializer.Serialize(Preprocessing, ModelCard.Json),
        [SourceKey] = Source,
        [SourceSha256Key] = SourceSha256,
        [ImageSizeKey] = DynamicImageSize ? "dynamic" : $"{Height}x{Width}",
        [OutputsKey] = FormatOutputs(Outputs),
        [PrecisionKey] = Precision,
    };

    /// <summary>Reads the metadata back; <paramref name="file"/> names the model in errors.</summary>
    public static OnnxMetadata Parse(IReadOnlyDictionary<string, string> props, string file)
    {
        string Get(string key) => props.TryGetValue(key, out var v) ? v
            : throw new CheckpointException($"{file}: ONNX model without DinoSharp metadata '{key}' (export it with `dino export onnx`).");
        try
        {
            var sizeText = Get(ImageSizeKey);
            var size = sizeText == "dynamic" ? null : sizeText.Split('x').Select(int.Parse).ToArray();
            return new OnnxMetadata(
                JsonSerializer.Deserialize<VisionTransformerConfig>(Get(ArchitectureKey), ModelCard.Json) ?? throw new JsonException("null architecture"),
                JsonSerializer.Deserialize<Preprocessing>(Get(PreprocessingKey), ModelCard.Json) ?? throw new JsonException("null preprocessing"),
                Get(SourceKey), Get(SourceSha256Key), size?[0], size?[1], ParseOutputs(Get(OutputsKey)),
                props.TryGetValue(PrecisionKey, out var precision) ? precision : Eval.ModelIdentity.DefaultPrecision);
        }
        catch (Exception e) when (e is JsonException or FormatException or IndexOutOfRangeException or ArgumentException)
        {
            throw new CheckpointException($"{file}: unreadable DinoSharp metadata in the ONNX model ({e.Message}).", e);
        }
    }

    /// <summary>The flags as "cls,patch,registers" (in that order, only those set).</summary>
    public static string FormatOutputs(OnnxOutputs outputs) => string.Join(",",
        new[] { OnnxOutputs.Cls, OnnxOutputs.Patch, OnnxOutputs.Registers }.Where(o => outputs.HasFlag(o)).Select(OutputName));

    /// <summary>"cls,patch,registers" (any order, any subset) to flags.</summary>
    public static OnnxOutputs ParseOutputs(string text)
    {
        var result = OnnxOutputs.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            result |= part.ToLowerInvariant() switch
            {
                "cls" => OnnxOutputs.Cls,
                "patch" => OnnxOutputs.Patch,
                "registers" or "register" => OnnxOutputs.Registers,
                _ => throw new ArgumentException($"Unknown ONNX output '{part}'; use cls, patch and/or registers.", "Outputs"),
            };
        return result;
    }

    /// <summary>The graph output name of one output.</summary>
    public static string OutputName(OnnxOutputs output) => output switch
    {
        OnnxOutputs.Cls => "cls",
        OnnxOutputs.Patch => "patch",
        OnnxOutputs.Registers => "registers",
        _ => throw new ArgumentOutOfRangeException(nameof(output), output, "One output at a time."),
    };
}
