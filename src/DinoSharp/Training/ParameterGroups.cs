using System.Globalization;
using TorchSharp.Modules;

namespace DinoSharp.Training;

/// <summary>
/// Optimiser parameter groups of the student (dinov2's get_params_groups_with_decay + fuse_params_groups).
/// Names are those of the student: <c>backbone.</c> + Meta's ViT keys (<c>cls_token, pos_embed, register_tokens,
/// mask_token, patch_embed.*, blocks.{i}.* or blocks.{chunk}.{i}.*, norm.*</c>), <c>dino_head.*</c>, <c>ibot_head.*</c>.
/// </summary>
/// <remarks>
/// Layer-wise lr decay: multiplier = decay^(L+1−layer), layer 0 for the embeddings (tokens, pos_embed, patch_embed),
/// i+1 for block i, L+1 (multiplier 1) for the final norm and the heads; patch_embed ×0.2 on top.
/// Weight decay is off for every 1-D parameter (biases, norm weights, LayerScale gammas) and for the tokens and the
/// position embedding. Two deliberate differences from dinov2's code, following the paper's intent (docs/algorithm.md): dinov2 decays
/// cls/mask/register tokens and pos_embed, and leaves register_tokens at layer L+1 (it does not list them).
/// Frozen parameters (requires_grad false, e.g. the fixed weight_g) are skipped, as in dinov2.
/// </remarks>
public static class ParameterGroups
{
    const string Backbone = "backbone.";
    static readonly string[] EmbeddingNames = ["cls_token", "pos_embed", "register_tokens", "mask_token", "patch_embed"];
    static readonly string[] NoDecayNames = ["cls_token", "pos_embed", "register_tokens", "mask_token"];

    /// <summary>Groups with identical (lr multiplier, wd multiplier, last-layer flag), in order of first appearance.</summary>
    /// <param name="parameters">The student's named parameters.</param>
    /// <param name="depth">Number of transformer blocks L.</param>
    /// <param name="layerDecay">Layer-wise lr decay (0.9).</param>
    /// <param name="patchEmbedLrMultiplier">Extra lr factor for the patch embedding (0.2).</param>
    public static IReadOnlyList<ParameterGroup> Build(IEnumerable<(string Name, Parameter P)> parameters, int depth, double layerDecay = 0.9, double patchEmbedLrMultiplier = 0.2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var groups = new List<(ParameterPolicy Key, List<string> Names, List<Parameter> Params)>();
        foreach (var (name, p) in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, name);
            if (!p.requires_grad) continue;
            var policy = PolicyFor(name, p.dim(), depth, layerDecay, patchEmbedLrMultiplier);
            int index = groups.FindIndex(g => g.Key.LrMultiplier == policy.LrMultiplier && g.Key.WdMultiplier == policy.WdMultiplier && g.Key.IsLastLayer == policy.IsLastLayer);
            if (index < 0)
            {
                groups.Add((policy, [], []));
                index = groups.Count - 1;
            }
            groups[index].Names.Add(name);
            groups[index].Params.Add(p);
        }
        return groups.Select(g => new ParameterGroup(g.Key.LrMultiplier, g.Key.WdMultiplier, g.Key.IsLastLayer, g.Names, g.Params)).ToList();
    }

    /// <summary>The policy of one parameter from its name and number of dimensions.</summary>
    public static ParameterPolicy PolicyFor(string name, long dimensions, int depth, double layerDecay = 0.9, double patchEmbedLrMultiplier = 0.2)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        if (!(layerDecay > 0 && layerDecay <= 1)) throw new ArgumentOutOfRangeException(nameof(layerDecay), layerDecay, "Layer decay must lie in (0, 1].");
        if (!(patchEmbedLrMultiplier >= 0)) throw new ArgumentOutOfRangeException(nameof(patchEmbedLrMultiplier), patchEmbedLrMultiplier, "Must be ≥ 0.");

        int layer = LayerId(name, depth);
        double lr = Math.Pow(layerDecay, depth + 1 - layer);
        var local = name.StartsWith(Backbone, StringComparison.Ordinal) ? name[Backbone.Length..] : null;
        if (local is not null && local.StartsWith("patch_embed", StringComparison.Ordinal)) lr *= patchEmbedLrMultiplier;

        bool noDecay = dimensions <= 1
            || name.EndsWith(".bias", StringComparison.Ordinal)
            || name.Contains("norm", StringComparison.Ordinal)
            || name.Contains("gamma", StringComparison.Ordinal)
            || (local is not null && NoDecayNames.Any(n => local == n || local.StartsWith(n + ".", StringComparison.Ordinal)));
        bool lastLayer = name.Contains("last_layer", StringComparison.Ordinal);
        return new ParameterPolicy(name, layer, lr, noDecay ? 0.0 : 1.0, lastLayer);
    }

    /// <summary>0 for the backbone's embeddings, i+1 for block i (also chunked <c>blocks.{chunk}.{i}</c>), L+1 otherwise.</summary>
    public static int LayerId(string name, int depth)
    {
        if (!name.StartsWith(Backbone, StringComparison.Ordinal)) return depth + 1;
        var parts = name[Backbone.Length..].Split('.');
        if (EmbeddingNames.Contains(parts[0])) return 0;
        if (parts[0] == "blocks" && parts.Length > 1 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int block))
        {
            // Chunked checkpoints (block_chunks > 0) read blocks.{chunk}.{global index}.
            if (parts.Length > 2 && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int inner)) block = inner;
            if (block >= depth) throw new ArgumentException($"{name}: block {block} does not exist in a {depth}-block model.", nameof(name));
            return block + 1;
        }
        return depth + 1;
    }
}
