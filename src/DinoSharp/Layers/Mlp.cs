using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>The ViT feed-forward network: fc2(GELU(fc1 x)), GELU with the exact erf form.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly Linear fc1;
    readonly Linear fc2;

    /// <summary>Creates <c>fc1</c> (in → hidden) and <c>fc2</c> (hidden → in).</summary>
    /// <param name="inFeatures">Input and output width D.</param>
    /// <param name="hiddenFeatures">Hidden width (mlp_ratio · D, 4D in dinov2).</param>
    /// <param name="bias">Whether both Linears have biases.</param>
    public Mlp(long inFeatures, long hiddenFeatures, bool bias = true) : base(nameof(Mlp))
    {
        fc1 = nn.Linear(inFeatures, hiddenFeatures, bias);
        fc2 = nn.Linear(hiddenFeatures, inFeatures, bias);
        RegisterComponents();
    }

    /// <summary>x [..., D] → [..., D].</summary>
    public override Tensor forward(Tensor x)
    {
        using var hidden = ComputePrecision.Linear(fc1, x);
        // Without autograd the activation can overwrite its input: one [B, N, 4D] buffer fewer per block.
        if (!torch.is_grad_enabled())
            return ComputePrecision.Linear(fc2, hidden.gelu_());
        using var activated = nn.functional.gelu(hidden);
        return ComputePrecision.Linear(fc2, activated);
    }
}
