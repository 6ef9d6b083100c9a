using System.Text.Json;
using System.Text.Json.Nodes;
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
    /// <summary>Per-channel mean (R, G, B) subtracted from [0, 1] pixel values; ImageNet's by default.</summary>
    public double[] Mean { get; init; } = [0.485, 0.456, 0.406];
    /// <summary>Per-channel standard deviation (R, G, B) the centred values are divided by; ImageNet's by default.</summary>
    public double[] Std { get; init; } = [0.229, 0.224, 0.225];

    /// <summary>A readable description such as "resize 256, centre-crop 224, ImageNet normalisation"; part of the embedding identity.</summary>
    public override string ToString() =>
        ResizeShorter > 0 ? $"resize {ResizeShorter}, centre-crop {Size}, ImageNet normalisation" : $"resize to {Size}×{Size}, ImageNet normalisation";
}

/// <summary>
/// model.json: what a backbone file is (architecture and preprocessing), written beside its weights. The JSON key
/// <c>backbone</c> holds a ViT config (family dinov2 or dinov3_vit, <see cref="Backbone"/>) or, with
/// <c>"family": "dinov3_convnext"</c>, a ConvNeXt config (<see cref="ConvNeXt"/>).
/// </summary>
public sealed record ModelCard
{
    readonly VisionTransformerConfig? vit;

    /// <summary>The ViT architecture of the weights file.</summary>
    /// <exception cref="InvalidOperationException">The card describes a ConvNeXt (<see cref="ConvNeXt"/> is set).</exception>
    [JsonIgnore]
    public VisionTransformerConfig Backbone
    {
        get => vit ?? throw new InvalidOperationException("This model.json describes a dinov3_convnext backbone, not a ViT: use ModelCard.ConvNeXt.");
        init => vit = value;
    }

    /// <summary>The ConvNeXt architecture of the weights file, or null for a ViT card.</summary>
    [JsonIgnore]
    public ConvNeXtConfig? ConvNeXt { get; init; }

    /// <summary>The family of the described backbone (model.json's <c>backbone.family</c>).</summary>
    [JsonIgnore]
    public BackboneFamily Family => ConvNeXt is not null ? BackboneFamily.Dinov3ConvNext : Backbone.Family;

    /// <summary>The JSON form of <c>backbone</c>: the ViT config, or the ConvNeXt config with its family.</summary>
    [JsonInclude]
    [JsonPropertyName("backbone")]
    JsonElement BackboneJson
    {
        get
        {
            if (ConvNeXt is null) return JsonSerializer.SerializeToElement(Backbone, Json);
            var node = JsonSerializer.SerializeToNode(ConvNeXt, Json)!.AsObject();
            node.Insert(0, "family", "dinov3_convnext");
            return JsonSerializer.SerializeToElement(node, Json);
        }
        init
        {
            if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("family", out var family)
                && family.ValueKind == JsonValueKind.String && family.GetString() == "dinov3_convnext")
            {
                var node = JsonNode.Parse(value.GetRawText())!.AsObject();
                node.Remove("family");
                ConvNeXt = node.Deserialize<ConvNeXtConfig>(Json) ?? throw new JsonException("backbone is null");
            }
            else
            {
                vit = value.Deserialize<VisionTransformerConfig>(Json) ?? throw new JsonException("backbone is null");
            }
        }
    }

    /// <summary>How images are prepared for this backbone.</summary>
    public Preprocessing Preprocessing { get; init; } = new();
    /// <summary>SHA-256 of the weights file this card describes.</summary>
    public string WeightsSha256 { get; init; } = "";
    /// <summary>Where the weights came from (e.g. the run that trained them); informational.</summary>
    public string Source { get; init; } = "";

    /// <summary>The model.json serialisation: snake_case keys and enum values, indented.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Writes the card as JSON to <paramref name="path"/> (overwriting it).</summary>
    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>Reads a model.json.</summary>
    /// <exception cref="Interop.CheckpointException">The file is not a valid model card, or its backbone fails <see cref="VisionTransformerConfig.Validate"/> or <see cref="ConvNeXtConfig.Validate"/> (e.g. family dinov3_vit without rope).</exception>
    public static ModelCard Load(string path)
    {
        try
        {
            var card = JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(path), Json) ?? throw new JsonException("empty");
            if (card.ConvNeXt is { } convNeXt) convNeXt.Validate();
            else if (card.vit is null) throw new JsonException("no backbone");
            else card.Backbone.Validate();
            return card;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            throw new Interop.CheckpointException($"{path}: not a valid model.json ({e.Message}).", e);
        }
    }
}
