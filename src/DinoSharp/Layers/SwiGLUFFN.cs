using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// SwiGLU feed-forward: out = w3(silu(x1) · x2). dinov2's SwiGLUFFNFused computes [x1 | x2] = w12(x) with one Linear;
/// dinov3's SwiGLUFFN has separate <c>w1</c> and <c>w2</c>. Same function, two key layouts. The hidden width is
/// int(⅔ · MLP width) rounded up to a multiple of the alignment (8; dinov3's swiglu32/64/128 use 32/64/128).
/// </summary>
public sealed class SwiGLUFFN : nn.Module<Tensor, Tensor>
{
    readonly Linear? w12;
    readonly Linear? w1;
    readonly Linear? w2;
    readonly Linear w3;

    /// <summary>Creates <c>w12</c> (in → 2·hidden) or <c>w1</c>, <c>w2</c> (in → hidden), and <c>w3</c> (hidden → in).</summary>
    /// <param name="inFeatures">Input and output width D.</param>
    /// <param name="mlpHiddenFeatures">The hidden width an MLP would have (ratio · D).</param>
    /// <param name="bias">Whether the Linears have biases.</param>
    /// <param name="fused">dinov2's layout (one <c>w12</c>) when true, dinov3's (<c>w1</c>, <c>w2</c>) when false.</param>
    /// <param name="alignTo">The hidden width is rounded up to a multiple of this.</param>
    public SwiGLUFFN(long inFeatures, long mlpHiddenFeatures, bool bias = true, bool fused = true, int alignTo = 8) : base(nameof(SwiGLUFFN))
    {
        HiddenFeatures = HiddenWidth(mlpHiddenFeatures, alignTo);
        if (fused)
        {
            w12 = nn.Linear(inFeatures, 2 * HiddenFeatures, bias);
        }
        else
        {
            w1 = nn.Linear(inFeatures, HiddenFeatures, bias);
            w2 = nn.Linear(inFeatures, HiddenFeatures, bias);
        }
        w3 = nn.Linear(HiddenFeatures, inFeatures, bias);
        RegisterComponents();
    }

    /// <summary>The gated hidden width actually used (a multiple of the alignment).</summary>
    public long HiddenFeatures { get; }

    /// <summary>d = int(h·2/3), rounded up to a multiple of <paramref name="alignTo"/> (dinov2: 8).</summary>
    public static long HiddenWidth(long mlpHiddenFeatures, int alignTo = 8)
    {
        long d = (long)(mlpHiddenFeatures * 2.0 / 3.0);
        return (d + alignTo - 1) / alignTo * alignTo;
    }

    /// <summary>x [..., D] → [..., D].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x1, x2;
        if (w12 is not null)
        {
            var halves = ComputePrecision.Linear(w12, x).chunk(2, -1);
            (x1, x2) = (halves[0], halves[1]);
        }
        else
        {
            (x1, x2) = (ComputePrecision.Linear(w1!, x), ComputePrecision.Linear(w2!, x));
        }
        var hidden = nn.functional.silu(x1) * x2;
        return ComputePrecision.Linear(w3, hidden).MoveToOuterDisposeScope();
    }
}
