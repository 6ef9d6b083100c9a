using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>Root-mean-square normalisation (dinov3/layers/rms_norm.py): x · rsqrt(mean(x²) + ε) in float32, cast back, times <c>weight</c>.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;

    /// <summary>Creates <c>weight</c> = 1 in every one of <paramref name="dim"/> channels.</summary>
    public RmsNorm(long dim, double eps = 1e-5) : base(nameof(RmsNorm))
    {
        weight = new Parameter(torch.ones(dim));
        this.eps = eps;
        RegisterComponents();
    }

    /// <summary>x [..., D] → [..., D].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var f = x.to(ScalarType.Float32);
        var normed = (f * torch.rsqrt(f.pow(2).mean([-1], keepdim: true) + eps)).to(x.dtype);
        return (normed * weight).MoveToOuterDisposeScope();
    }
}
