using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Layers;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>A backbone's embeddings of one <see cref="FeatureKind"/>.</summary>
/// <param name="extractor">Preprocessing and batched inference of the backbone; disposed with the embedder.</param>
/// <param name="kind">Which tokens form the vector.</param>
/// <param name="source">How the model was named (a run name, an architecture, a file name or random:…); informational, not part of <see cref="Identity"/>.</param>
/// <param name="weightsSha256">Content hash of the weights (<see cref="Interop.WeightsContent.Sha256"/>), part of <see cref="Identity"/>.</param>
public sealed class BackboneEmbedder(FeatureExtractor extractor, FeatureKind kind, string source, string weightsSha256) : IImageEmbedder
{
    /// <summary>The preprocessing and the backbone in inference mode (owned by this embedder).</summary>
    public FeatureExtractor Extractor { get; } = extractor;
    /// <summary>Which tokens form each embedding.</summary>
    public FeatureKind Kind { get; } = kind;

    /// <summary>How the model was named; informational.</summary>
    public string Source { get; } = source;

    /// <summary>The architecture's description, the weights' content hash, the preprocessing, <see cref="KindName"/> of <see cref="Kind"/> and the extractor's resolved precision.</summary>
    public ModelIdentity Identity => ModelIdentity.Of(Extractor.Backbone, weightsSha256, Extractor.Preprocessing, KindName(Kind), ComputePrecision.Name(Extractor.Precision));

    /// <summary>[B, E] float32 on the CPU, rows L2-normalised; E is D for cls or avgpatch, 2D for cls+avgpatch, 5D for last4+avgpatch (fewer for a backbone of under 4 blocks).</summary>
    public Tensor Embed(IReadOnlyList<RgbImage> images)
    {
        using var e = Extractor.Embed(images, Kind);
        return e.cpu();
    }

    /// <summary>The command-line name of <paramref name="kind"/>: "cls", "avgpatch", "cls+avgpatch" or "last4+avgpatch".</summary>
    public static string KindName(FeatureKind kind) => kind switch
    {
        FeatureKind.Cls => "cls",
        FeatureKind.AvgPatch => "avgpatch",
        FeatureKind.ClsAvgPatch => "cls+avgpatch",
        FeatureKind.Last4ClsAvgPatch => "last4+avgpatch",
        _ => kind.ToString(),
    };

    /// <summary>The kind named <paramref name="name"/> (case-insensitive; "avgpool" is accepted for "avgpatch", "last4" for "last4+avgpatch").</summary>
    /// <exception cref="ArgumentException">The name is none of these.</exception>
    public static FeatureKind ParseKind(string name) => name.ToLowerInvariant() switch
    {
        "cls" => FeatureKind.Cls,
        "avgpatch" or "avgpool" => FeatureKind.AvgPatch,
        "cls+avgpatch" or "cls+avgpool" => FeatureKind.ClsAvgPatch,
        "last4+avgpatch" or "last4+avgpool" or "last4" => FeatureKind.Last4ClsAvgPatch,
        _ => throw new ArgumentException($"Unknown feature kind '{name}'; use cls, avgpatch, cls+avgpatch or last4+avgpatch."),
    };

    /// <summary>Disposes the <see cref="Extractor"/> and with it the backbone.</summary>
    public void Dispose() => Extractor.Dispose();
}
