namespace DinoSharp.Training;

/// <summary>The optimiser policy of one named parameter: its layer, lr and weight-decay multipliers, last-layer flag.</summary>
/// <param name="Name">The student parameter name (e.g. backbone.blocks.3.attn.qkv.weight).</param>
/// <param name="LayerId">0 for the embeddings, i + 1 for block i, L + 1 for the final norm and the heads.</param>
/// <param name="LrMultiplier">decay^(L + 1 − LayerId), times the patch-embedding factor for patch_embed.</param>
/// <param name="WdMultiplier">1, or 0 for biases, norms, LayerScale, tokens and the position embedding.</param>
/// <param name="IsLastLayer">Whether it is a head's prototype layer (frozen at the start).</param>
public sealed record ParameterPolicy(string Name, int LayerId, double LrMultiplier, double WdMultiplier, bool IsLastLayer);
