namespace DinoSharp.Layers;

/// <summary>The block's feed-forward network: the ViT MLP, or SwiGLU (dinov2's "swiglufused", used by ViT-g).</summary>
public enum FeedForwardKind
{
    /// <summary>fc2(GELU(fc1 x)), the standard ViT MLP (<see cref="Layers.Mlp"/>).</summary>
    Mlp,
    /// <summary>w3(silu(x1) · x2) with [x1 | x2] = w12(x) (<see cref="SwiGLUFFN"/>).</summary>
    SwiGLU,
}
