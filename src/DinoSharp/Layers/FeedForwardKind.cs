namespace DinoSharp.Layers;

/// <summary>The block's feed-forward network: the ViT MLP, or SwiGLU (dinov2's "swiglufused", used by ViT-g).</summary>
public enum FeedForwardKind
{
    Mlp,
    SwiGLU,
}
