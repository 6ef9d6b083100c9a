using DinoSharp.Data;
using DinoSharp.Eval;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>A backbone's embeddings of one <see cref="FeatureKind"/>.</summary>
public sealed class BackboneEmbedder(FeatureExtractor extractor, FeatureKind kind, string architecture, string weightsSha256) : IImageEmbedder
{
    public FeatureExtractor Extractor { get; } = extractor;
    public FeatureKind Kind { get; } = kind;

    public ModelIdentity Identity { get; } = new(architecture, weightsSha256, extractor.Preprocessing.ToString(), KindName(kind));

    public Tensor Embed(IReadOnlyList<RgbImage> images)
    {
        using var e = Extractor.Embed(images, Kind);
        return e.cpu();
    }

    public static string KindName(FeatureKind kind) => kind switch
    {
        FeatureKind.Cls => "cls",
        FeatureKind.AvgPatch => "avgpatch",
        FeatureKind.ClsAvgPatch => "cls+avgpatch",
        FeatureKind.Last4ClsAvgPatch => "last4+avgpatch",
        _ => kind.ToString(),
    };

    public static FeatureKind ParseKind(string name) => name.ToLowerInvariant() switch
    {
        "cls" => FeatureKind.Cls,
        "avgpatch" or "avgpool" => FeatureKind.AvgPatch,
        "cls+avgpatch" or "cls+avgpool" => FeatureKind.ClsAvgPatch,
        "last4+avgpatch" or "last4+avgpool" or "last4" => FeatureKind.Last4ClsAvgPatch,
        _ => throw new ArgumentException($"Unknown feature kind '{name}'; use cls, avgpatch, cls+avgpatch or last4+avgpatch."),
    };

    public void Dispose() => Extractor.Dispose();
}
