namespace DinoSharp.Layers;

/// <summary>The normalisation layer of the blocks and the final norm: LayerNorm (both families) or RMSNorm (dinov3's "rmsnorm").</summary>
public enum NormKind
{
    /// <summary>nn.LayerNorm with the config's epsilon (1e-6 for dinov2 and dinov3's "layernorm", 1e-5 for "layernormbf16").</summary>
    LayerNorm,
    /// <summary>x / √(mean(x²) + ε) · weight, computed in float32 (<see cref="RmsNorm"/>).</summary>
    RmsNorm,
}
