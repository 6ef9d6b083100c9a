using System.Text.Json;
using System.Text.Json.Serialization;
using DinoSharp.Layers;

namespace DinoSharp.Models;

/// <summary>How images are turned into model input: resize/crop to <see cref="Size"/> and normalise.</summary>
public sealed record Preprocessing
{
    /// <summary>Side of the square model input (a multiple of the patch size).</summary>
    public int Size { get; init; } = 224;
    /// <summary>Resize the shorter side to this before the centre crop (0 = stretch the whole image to Size×Size).</summary>
    public int ResizeShorter { get; init; } = 256;
    public double[] Mean { get; init; } = [0.485, 0.456, 0.406];
    public double[] Std { get; init; } = [0.229, 0.224, 0.225];

    public override string ToString() =>
        ResizeShorter > 0 ? $"resize {ResizeShorter}, centre-crop {Size}, ImageNet normalisation" : $"resize to {Size}×{Size}, ImageNet normalisation";
}

/// <summary>model.json: what a backbone file is (architecture and preprocessing), written beside its weights.</summary>
public sealed record ModelCard
{
    public required VisionTransformerConfig Backbone { get; init; }
    public Preprocessing Preprocessing { get; init; } = new();
    /// <summary>SHA-256 of the weights file this card describes.</summary>
    public string WeightsSha256 { get; init; } = "";
    public string Source { get; init; } = "";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter<FeedForwardKind>(JsonNamingPolicy.SnakeCaseLower) },
    };

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    public static ModelCard Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(path), Json) ?? throw new JsonException("empty");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new Interop.CheckpointException($"{path}: not a valid model.json ({e.Message}).", e);
        }
    }
}
