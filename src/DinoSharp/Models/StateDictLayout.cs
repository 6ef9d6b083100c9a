using DinoSharp.Layers;

namespace DinoSharp.Models;

/// <summary>
/// The state dict of a <see cref="DinoVisionTransformer"/> described from its config alone, keys in order with shapes,
/// without allocating a single weight: how a 7B's key list and parameter count are checked on a machine that cannot
/// hold it, and what a checkpoint is compared against to name the architecture it was made for. The real model's
/// <c>state_dict()</c> equals this description (tested on every small variant).
/// </summary>
public static class StateDictLayout
{
    /// <summary>The keys and shapes of the backbone <paramref name="config"/> describes, in state-dict order.</summary>
    public static IReadOnlyList<StateDictEntry> Of(VisionTransformerConfig config)
    {
        var c = config.Validate();
        bool v3 = c.Family == BackboneFamily.Dinov3Vit;
        long d = c.EmbedDim;
        var entries = new List<StateDictEntry> { new("cls_token", [1, 1, d]) };
        if (!v3) entries.Add(new("pos_embed", [1, (long)c.PositionGrid * c.PositionGrid + 1, d]));
        if (c.NumRegisterTokens > 0) entries.Add(new(v3 ? "storage_tokens" : "register_tokens", [1, c.NumRegisterTokens, d]));
        entries.Add(new("mask_token", [1, d]));
        entries.Add(new("patch_embed.proj.weight", [d, c.InChans, c.PatchSize, c.PatchSize]));
        entries.Add(new("patch_embed.proj.bias", [d]));
        if (v3) entries.Add(new("rope_embed.periods", [c.HeadDim / 4], IsBuffer: true));
        for (int i = 0; i < c.Depth; i++)
        {
            string b = $"blocks.{i}.";
            Norm(entries, b + "norm1", c);
            Linear(entries, b + "attn.qkv", d, 3 * d, c.QkvBias);
            if (c.QkvBias && c.MaskKBias) entries.Add(new(b + "attn.qkv.bias_mask", [3 * d], IsBuffer: true));
            Linear(entries, b + "attn.proj", d, d, c.ProjBias);
            if (c.InitValues != 0) entries.Add(new(b + "ls1.gamma", [d]));
            Norm(entries, b + "norm2", c);
            switch (c.FfnLayer)
            {
                case FeedForwardKind.Mlp:
                    Linear(entries, b + "mlp.fc1", d, c.MlpHidden, c.FfnBias);
                    Linear(entries, b + "mlp.fc2", c.MlpHidden, d, c.FfnBias);
                    break;
                case FeedForwardKind.SwiGLU:
                    long h = SwiGLUFFN.HiddenWidth(c.MlpHidden, c.SwigluAlignTo);
                    if (v3)
                    {
                        Linear(entries, b + "mlp.w1", d, h, c.FfnBias);
                        Linear(entries, b + "mlp.w2", d, h, c.FfnBias);
                    }
                    else
                    {
                        Linear(entries, b + "mlp.w12", d, 2 * h, c.FfnBias);
                    }
                    Linear(entries, b + "mlp.w3", h, d, c.FfnBias);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(config), c.FfnLayer, "Unknown feed-forward kind.");
            }
            if (c.InitValues != 0) entries.Add(new(b + "ls2.gamma", [d]));
        }
        Norm(entries, "norm", c);
        if (c.UntieClsAndPatchNorms) Norm(entries, "cls_norm", c);
        if (c.UntieGlobalAndLocalClsNorm) Norm(entries, "local_cls_norm", c);
        return entries;
    }

    /// <summary>Trained parameters (buffers excluded), as PyTorch's <c>sum(p.numel() for p in model.parameters())</c>.</summary>
    public static long ParameterCount(VisionTransformerConfig config) =>
        Of(config).Where(e => !e.IsBuffer).Sum(e => e.Numel);

    static void Linear(List<StateDictEntry> entries, string name, long inFeatures, long outFeatures, bool bias)
    {
        entries.Add(new(name + ".weight", [outFeatures, inFeatures]));
        if (bias) entries.Add(new(name + ".bias", [outFeatures]));
    }

    static void Norm(List<StateDictEntry> entries, string name, VisionTransformerConfig c)
    {
        entries.Add(new(name + ".weight", [c.EmbedDim]));
        if (c.NormLayer == NormKind.LayerNorm) entries.Add(new(name + ".bias", [c.EmbedDim]));
    }
}
