using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>Per-channel learned scale of a residual branch (CaiT's LayerScale): x ⊙ γ, γ initialised to a small value.</summary>
public sealed class LayerScale : nn.Module<Tensor, Tensor>
{
    readonly Parameter gamma;

    /// <summary>γ = <paramref name="initValue"/> in every one of <paramref name="dim"/> channels.</summary>
    public LayerScale(long dim, double initValue) : base(nameof(LayerScale))
    {
        gamma = new Parameter(torch.full(dim, initValue));
        RegisterComponents();
    }

    /// <summary>γ [D], the state-dict key <c>gamma</c>.</summary>
    public Parameter Gamma => gamma;

    /// <summary>x [..., D] ⊙ γ.</summary>
    public override Tensor forward(Tensor x) => x * gamma;
}
