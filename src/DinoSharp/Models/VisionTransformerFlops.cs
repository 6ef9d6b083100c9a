using DinoSharp.Layers;

namespace DinoSharp.Models;

/// <summary>
/// Analytic forward FLOPs of one image through a <see cref="DinoVisionTransformer"/>, counting a multiply-add as 2 FLOPs
/// and only the matrix products (LayerNorm, softmax, GELU/SiLU, biases, residual adds and LayerScale are O(T·D) and
/// left out; they are below 1% for ViT-S/14). With N = (S/p)² patches, T = 1 + registers + N tokens, width D, depth L:
/// <code>
/// patch embed   2·N·(C·p²)·D
/// per block     qkv 2·T·D·3D + QKᵀ 2·T²·D + AV 2·T²·D + proj 2·T·D·D
///               + MLP 2·T·D·H·2 (fc1, fc2; H = mlp_ratio·D)   or   SwiGLU 2·T·D·2H′ + 2·T·H′·D (H′ = SwiGLU hidden width)
/// total         patch embed + L · per block
/// </code>
/// The final LayerNorm and any head are not counted. A backward pass costs about twice the forward.
/// </summary>
public static class VisionTransformerFlops
{
    /// <summary>The per-image breakdown at a square input of <paramref name="imageSize"/> pixels.</summary>
    public static ViTFlops PerImage(VisionTransformerConfig config, int imageSize)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (imageSize <= 0 || imageSize % config.PatchSize != 0)
            throw new ArgumentException($"Image size {imageSize} is not a positive multiple of the patch size {config.PatchSize}.", nameof(imageSize));
        double n = Math.Pow(imageSize / config.PatchSize, 2);
        double t = 1 + config.NumRegisterTokens + n;
        double d = config.EmbedDim, l = config.Depth;
        double patchEmbed = 2 * n * config.InChans * config.PatchSize * config.PatchSize * d;
        double qkv = 2 * t * d * 3 * d;
        double scores = 2 * t * t * d;
        double values = 2 * t * t * d;
        double proj = 2 * t * d * d;
        double ffn = config.FfnLayer switch
        {
            FeedForwardKind.Mlp => 2 * t * d * config.MlpHidden * 2,
            FeedForwardKind.SwiGLU => 2 * t * d * 2 * SwiGLUFFN.HiddenWidth(config.MlpHidden, config.SwigluAlignTo) + 2 * t * SwiGLUFFN.HiddenWidth(config.MlpHidden, config.SwigluAlignTo) * d,
            _ => throw new ArgumentOutOfRangeException(nameof(config), config.FfnLayer, "Unknown feed-forward kind."),
        };
        return new ViTFlops(patchEmbed, l * qkv, l * scores, l * values, l * proj, l * ffn);
    }
}

/// <summary>Forward FLOPs of one image, by kind of matrix product (each summed over all blocks).</summary>
/// <param name="PatchEmbed">The patch-embedding convolution.</param>
/// <param name="Qkv">The qkv projections.</param>
/// <param name="AttentionScores">Q·Kᵀ.</param>
/// <param name="AttentionValues">softmax · V.</param>
/// <param name="Projection">The attention output projections.</param>
/// <param name="FeedForward">MLP or SwiGLU.</param>
public sealed record ViTFlops(double PatchEmbed, double Qkv, double AttentionScores, double AttentionValues, double Projection, double FeedForward)
{
    /// <summary>Sum of all parts: forward FLOPs of one image.</summary>
    public double Total => PatchEmbed + Qkv + AttentionScores + AttentionValues + Projection + FeedForward;
}
