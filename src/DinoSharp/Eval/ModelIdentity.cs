namespace DinoSharp.Eval;

/// <summary>
/// What produced a set of embeddings. Two stores can only be mixed, and two embedding sets only compared, when every
/// field is equal: the same weights under a different preprocessing or feature kind give vectors from another space.
/// </summary>
/// <param name="Architecture">Backbone name, e.g. "vit_small_patch14_dinov2".</param>
/// <param name="CheckpointSha256">Hex SHA-256 of the weights file the features came from.</param>
/// <param name="Preprocessing">Free-form but exact description, e.g. "resize256-center224-imagenet-norm".</param>
/// <param name="FeatureKind">Which tokens form the vector: "cls", "cls+avgpool", "last4", "last4+avgpool".</param>
/// <param name="Precision">The compute precision of the backbone, "fp32" or "bf16" (stores written before it existed read as "fp32").</param>
public sealed record ModelIdentity(string Architecture, string CheckpointSha256, string Preprocessing, string FeatureKind, string Precision = "fp32")
{
    /// <summary>One line for error messages: architecture, the checkpoint (a hex hash cut to 12 characters; other names such as "untrained-seed0" whole), preprocessing and feature kind.</summary>
    public override string ToString() =>
        $"{Architecture} (checkpoint {Short(CheckpointSha256)}, preprocessing '{Preprocessing}', features '{FeatureKind}'{(Precision == "fp32" ? "" : $", precision {Precision}")})";

    static string Short(string sha) => sha.Length > 12 && sha.All(Uri.IsHexDigit) ? sha[..12] : sha;
}
