using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// LayerNorm over the channel axis of [B, C, H, W] feature maps (ConvNeXt's <c>LayerNorm(data_format="channels_first")</c>),
/// written out as the reference writes it: (x − mean) / √(biased variance + ε), then per-channel weight and bias.
/// Keys <c>weight</c> and <c>bias</c> [C].
/// </summary>
public sealed class ChannelsFirstLayerNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter bias;
    readonly double eps;

    /// <summary>Weight 1 and bias 0 over <paramref name="channels"/> channels.</summary>
    /// <param name="channels">C, the size of dimension 1 of the input.</param>
    /// <param name="eps">Added to the variance (ConvNeXt: 1e-6).</param>
    public ChannelsFirstLayerNorm(long channels, double eps = 1e-6) : base(nameof(ChannelsFirstLayerNorm))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        weight = new Parameter(torch.ones(channels));
        bias = new Parameter(torch.zeros(channels));
        this.eps = eps;
        RegisterComponents();
    }

    /// <summary>x [B, C, H, W] → normalised over C, same shape.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var centred = x - x.mean([1], keepdim: true);
        var variance = centred.pow(2).mean([1], keepdim: true);
        var normalised = centred / (variance + eps).sqrt();
        var y = weight[.., TensorIndex.None, TensorIndex.None] * normalised + bias[.., TensorIndex.None, TensorIndex.None];
        return y.MoveToOuterDisposeScope();
    }
}
