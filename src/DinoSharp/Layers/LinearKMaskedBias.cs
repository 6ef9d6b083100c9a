using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// dinov3's qkv projection with a masked key bias (LinearKMaskedBias): y = x·Wᵀ + bias ⊙ bias_mask, where the
/// <c>bias_mask</c> buffer (part of the checkpoint) is 1 on the query and value thirds and 0 on the key third, so the key
/// bias never contributes however it was trained.
/// </summary>
public sealed class LinearKMaskedBias : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter bias;
    readonly Tensor bias_mask;

    /// <summary>Creates <c>weight</c> [out, in], <c>bias</c> [out] and the buffer <c>bias_mask</c> [out] = (1, 0, 1) by thirds.</summary>
    /// <exception cref="ArgumentException"><paramref name="outFeatures"/> is not a multiple of 3.</exception>
    public LinearKMaskedBias(long inFeatures, long outFeatures) : base(nameof(LinearKMaskedBias))
    {
        if (outFeatures % 3 != 0)
            throw new ArgumentException($"LinearKMaskedBias needs q, k and v thirds: {outFeatures} outputs is not a multiple of 3.");
        weight = new Parameter(torch.empty(outFeatures, inFeatures));
        bias = new Parameter(torch.zeros(outFeatures));
        bias_mask = torch.ones(outFeatures);
        bias_mask[TensorIndex.Slice(outFeatures / 3, 2 * outFeatures / 3)] = torch.zeros(outFeatures / 3);
        register_parameter(nameof(weight), weight);
        register_parameter(nameof(bias), bias);
        register_buffer(nameof(bias_mask), bias_mask);
    }

    /// <summary>The weight [out, in].</summary>
    public Parameter Weight => weight;
    /// <summary>The bias [out], key third included (masked out in the computation).</summary>
    public Parameter Bias => bias;
    /// <summary>The mask [out] the bias is multiplied by.</summary>
    public Tensor BiasMask => bias_mask;

    /// <summary>x [..., in] → [..., out].</summary>
    public override Tensor forward(Tensor x)
    {
        using var masked = bias * bias_mask.to(bias.dtype);
        return nn.functional.linear(x, weight, masked);
    }
}
