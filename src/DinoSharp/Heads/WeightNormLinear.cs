using DinoSharp.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Heads;

/// <summary>
/// Bias-free Linear layer with weight normalisation (Salimans &amp; Kingma, 2016):
/// W = g · v / ‖v_row‖₂, the norm taken per output row (PyTorch's <c>weight_norm(..., dim=0)</c>).
/// Parameter names match PyTorch's <c>weight_g [out,1]</c> and <c>weight_v [out,in]</c>.
/// </summary>
public sealed class WeightNormLinear : Module<Tensor, Tensor>
{
    // Fixed at 1 by default (DinoHead's prototypes are unit vectors); see DinoHead for the reason.
    private readonly Parameter weight_g;
    private readonly Parameter weight_v;

    /// <summary>v ~ U(−1/√in, 1/√in) (PyTorch's Linear default) and g = 1.</summary>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width (for DinoHead, the prototypes K).</param>
    /// <param name="trainableMagnitude">Whether g is trained; false keeps every row of W at unit norm.</param>
    /// <exception cref="ArgumentOutOfRangeException">A width is not positive.</exception>
    public WeightNormLinear(int inFeatures, int outFeatures, bool trainableMagnitude = false) : base(nameof(WeightNormLinear))
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Feature sizes must be positive, got in={inFeatures}, out={outFeatures}.");
        // PyTorch's default Linear init (kaiming_uniform with a=√5 ⇒ U(−1/√in, 1/√in)): dinov2 builds last_layer after its
        // trunc-normal init pass, so the prototypes keep this default; weight_norm then sets g = ‖v_row‖, which dinov2 overwrites with 1.
        double bound = 1.0 / Math.Sqrt(inFeatures);
        weight_v = new Parameter(torch.empty(outFeatures, inFeatures).uniform_(-bound, bound));
        weight_g = new Parameter(torch.ones(outFeatures, 1), requires_grad: trainableMagnitude);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        RegisterComponents();
    }

    /// <summary>Input width (columns of <c>weight_v</c>).</summary>
    public int InFeatures { get; }
    /// <summary>Output width (rows of <c>weight_v</c> and <c>weight_g</c>).</summary>
    public int OutFeatures { get; }

    /// <summary>The effective weight g · v / ‖v_row‖₂ [out, in].</summary>
    public Tensor EffectiveWeight()
    {
        using var scope = torch.NewDisposeScope();
        var w = weight_v * (weight_g / weight_v.norm(1, keepdim: true));
        return w.MoveToOuterDisposeScope();
    }

    /// <summary>x [..., in] → x·Wᵀ [..., out].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return ComputePrecision.Linear(x, EffectiveWeight(), null).MoveToOuterDisposeScope();
    }
}
