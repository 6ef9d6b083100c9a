using DinoSharp.Interop;
using DinoSharp.Models;

namespace DinoSharp.Eval;

/// <summary>
/// What produced a set of embeddings. Two stores can only be mixed, and two embedding sets only compared, when every
/// field is equal: the same weights under a different preprocessing, feature kind or precision give vectors from
/// another space. Nothing in it depends on the path the weights came through: the same tensors reached through a run
/// folder, a converted file, a Hugging Face folder or an ONNX export have one identity.
/// </summary>
/// <param name="Architecture">The architecture's description (<see cref="DescribeArchitecture"/>), e.g. "ViT(dim 384, depth 12, …)".</param>
/// <param name="CheckpointSha256">Hex SHA-256 of the weights' content (<see cref="WeightsContent.Sha256"/>), not of a file.</param>
/// <param name="Preprocessing">Exact description of the preprocessing (<see cref="Models.Preprocessing.ToString"/>).</param>
/// <param name="FeatureKind">Which tokens form the vector: "cls", "avgpatch", "cls+avgpatch", "last4+avgpatch" (or "pixels").</param>
/// <param name="Precision">Numeric precision of the forward pass ("fp32" unless a reduced-precision path says otherwise).</param>
public sealed record ModelIdentity(string Architecture, string CheckpointSha256, string Preprocessing, string FeatureKind, string Precision = ModelIdentity.DefaultPrecision)
{
    /// <summary>The precision of every forward pass that names no other.</summary>
    public const string DefaultPrecision = "fp32";

    /// <summary>The identity of a backbone's embeddings.</summary>
    /// <param name="architecture">The backbone's configuration.</param>
    /// <param name="weightsSha256">Content hash of its weights (<see cref="WeightsContent.Sha256"/>).</param>
    /// <param name="preprocessing">How images are prepared for it.</param>
    /// <param name="featureKind">Which tokens form the vector.</param>
    /// <param name="precision">Numeric precision of the forward pass.</param>
    public static ModelIdentity Of(VisionTransformerConfig architecture, string weightsSha256, Preprocessing preprocessing, string featureKind,
        string precision = DefaultPrecision)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(preprocessing);
        return new(DescribeArchitecture(architecture), weightsSha256, preprocessing.ToString(), featureKind, precision);
    }

    /// <summary>The identity of a backbone's embeddings: a ViT by its configuration, a DINOv3 ConvNeXt by its depths and widths.</summary>
    /// <exception cref="ArgumentException">The backbone is neither.</exception>
    public static ModelIdentity Of(IDinoBackbone backbone, string weightsSha256, Preprocessing preprocessing, string featureKind,
        string precision = DefaultPrecision)
    {
        ArgumentNullException.ThrowIfNull(preprocessing);
        return backbone switch
        {
            DinoVisionTransformer vit => Of(vit.Config, weightsSha256, preprocessing, featureKind, precision),
            ConvNeXt convNeXt => new(ConvNeXtCheckpoint.Describe(convNeXt.Config), weightsSha256, preprocessing.ToString(), featureKind, precision),
            _ => throw new ArgumentException($"No identity for a {backbone?.GetType().Name ?? "null"} backbone.", nameof(backbone)),
        };
    }

    /// <summary>The fields of an architecture that change what a forward pass computes, in one line (drop path and the LayerScale init do not: the weights carry them).</summary>
    public static string DescribeArchitecture(VisionTransformerConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        string interpolation = c.InterpolateAntialias ? ", antialiased position resize" : c.InterpolateOffset != 0.1 ? $", position offset {c.InterpolateOffset:G}" : "";
        return BackboneCheckpoint.Describe(c)[..^1] + interpolation + ")";
    }

    /// <summary>One line for error messages: architecture, the weights (a hex hash cut to 12 characters), preprocessing, feature kind and precision.</summary>
    public override string ToString() =>
        $"{Architecture} (weights {Short(CheckpointSha256)}, preprocessing '{Preprocessing}', features '{FeatureKind}', {Precision})";

    static string Short(string sha) => sha.Length > 12 && sha.All(Uri.IsHexDigit) ? sha[..12] : sha;
}
