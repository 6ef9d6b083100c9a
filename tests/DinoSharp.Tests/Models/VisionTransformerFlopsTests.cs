using DinoSharp.Layers;
using DinoSharp.Models;

namespace DinoSharp.Tests.Models;

public sealed class VisionTransformerFlopsTests
{
    // 8 px, patch 4: N = 4 patches, T = 1 cls + 1 register + 4 = 6 tokens, D = 8, H = 16, 2 blocks.
    static readonly VisionTransformerConfig Tiny = new()
    {
        ImgSize = 8, PatchSize = 4, EmbedDim = 8, Depth = 2, NumHeads = 2, MlpRatio = 2, NumRegisterTokens = 1,
    };

    [Fact]
    public void Mlp_vit_matches_a_hand_count()
    {
        var f = VisionTransformerFlops.PerImage(Tiny, 8);
        Assert.Equal(2.0 * 4 * (3 * 4 * 4) * 8, f.PatchEmbed);        // 3,072
        Assert.Equal(2 * (2.0 * 6 * 8 * 24), f.Qkv);                  // 2 × 2,304
        Assert.Equal(2 * (2.0 * 6 * 6 * 8), f.AttentionScores);       // 2 × 576
        Assert.Equal(2 * (2.0 * 6 * 6 * 8), f.AttentionValues);
        Assert.Equal(2 * (2.0 * 6 * 8 * 8), f.Projection);            // 2 × 768
        Assert.Equal(2 * (2.0 * 6 * 8 * 16 * 2), f.FeedForward);      // 2 × 3,072
        Assert.Equal(17_664, f.Total);
    }

    [Fact]
    public void Swiglu_uses_its_rounded_hidden_width_and_larger_inputs_grow_attention_quadratically()
    {
        // SwiGLU hidden: (int(16·2/3) + 7) // 8 · 8 = 16; w12 2·T·D·2H′ + w3 2·T·H′·D per block.
        var f = VisionTransformerFlops.PerImage(Tiny with { FfnLayer = FeedForwardKind.SwiGLU }, 8);
        Assert.Equal(2 * (2.0 * 6 * 8 * 32 + 2.0 * 6 * 16 * 8), f.FeedForward);

        var big = VisionTransformerFlops.PerImage(Tiny, 16);          // N = 16, T = 18
        Assert.Equal(2 * (2.0 * 18 * 18 * 8), big.AttentionScores);
        Assert.Throws<ArgumentException>(() => VisionTransformerFlops.PerImage(Tiny, 10));
    }
}
