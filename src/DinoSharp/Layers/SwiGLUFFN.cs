using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// SwiGLU feed-forward (ViT-g): [x1 | x2] = w12(x), out = w3(silu(x1) · x2).
/// Hidden width is round-up-to-8 of ⅔ of the MLP width, as dinov2's SwiGLUFFNFused.
/// </summary>
public sealed class SwiGLUFFN : nn.Module<Tensor, Tensor>
{
    readonly Linear w12;
    readonly Linear w3;

    /// <summary>Creates <c>w12</c> (in → 2·hidden) and <c>w3</c> (hidden → in), hidden = <see cref="HiddenWidth"/>(<paramref name="mlpHiddenFeatures"/>).</summary>
    /// <param name="inFeatures">Input and output width D.</param>
    /// <param name="mlpHiddenFeatures">The hidden width an MLP would have (mlp_ratio · D).</param>
    /// <param name="bias">Whether both Linears have biases.</param>
    public SwiGLUFFN(long inFeatures, long mlpHiddenFeatures, bool bias = true) : base(nameof(SwiGLUFFN))
    {
        HiddenFeatures = HiddenWidth(mlpHiddenFeatures);
        w12 = nn.Linear(inFeatures, 2 * HiddenFeatures, bias);
        w3 = nn.Linear(HiddenFeatures, inFeatures, bias);
        RegisterComponents();
    }

    /// <summary>The gated hidden width actually used (a multiple of 8).</summary>
    public long HiddenFeatures { get; }

    /// <summary>(int(h·2/3) + 7) // 8 · 8.</summary>
    public static long HiddenWidth(long mlpHiddenFeatures) => ((long)(mlpHiddenFeatures * 2.0 / 3.0) + 7) / 8 * 8;

    /// <summary>x [..., D] → [..., D].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var x12 = ComputePrecision.Linear(w12, x);
        var halves = x12.chunk(2, -1);
        var hidden = nn.functional.silu(halves[0]) * halves[1];
        return ComputePrecision.Linear(w3, hidden).MoveToOuterDisposeScope();
    }
}
