using DinoSharp.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Heads;

/// <summary>
/// The MLP shared by dinov2's and dinov3's DINOHead (<c>_build_mlp</c> without BatchNorm): Linear–GELU–(Linear–GELU)×(n−2)–Linear
/// to the bottleneck, keys <c>mlp.{0,2,4,…}.{weight,bias}</c>, or a single Linear (keys <c>mlp.{weight,bias}</c>) when n = 1.
/// </summary>
internal static class ProjectionMlp
{
    /// <summary>The MLP with trunc-normal(0.02) weights (absolute cut-offs ±2) and zero biases, as both heads' init.</summary>
    public static Module<Tensor, Tensor> Build(int nlayers, int inDim, int hiddenDim, int bottleneckDim, bool bias)
    {
        if (nlayers == 1) return InitLinear(inDim, bottleneckDim, bias);
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        void Add(Module<Tensor, Tensor> m) => layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
        Add(InitLinear(inDim, hiddenDim, bias));
        Add(GELU());
        for (int i = 0; i < nlayers - 2; i++)
        {
            Add(InitLinear(hiddenDim, hiddenDim, bias));
            Add(GELU());
        }
        Add(InitLinear(hiddenDim, bottleneckDim, bias));
        return Sequential(layers);
    }

    /// <summary>Throws when a head size is not positive.</summary>
    public static void CheckSizes(int inDim, int outDim, int hiddenDim, int bottleneckDim)
    {
        if (inDim <= 0 || outDim <= 0 || hiddenDim <= 0 || bottleneckDim <= 0)
            throw new ArgumentOutOfRangeException(nameof(inDim), $"Head sizes must be positive (in={inDim}, out={outDim}, hidden={hiddenDim}, bottleneck={bottleneckDim}).");
    }

    /// <summary>
    /// x [..., D] → the L2-normalised MLP output [..., bottleneck], the MLP's Linears in the current
    /// <see cref="ComputePrecision"/> and the norm taken in the input's dtype (float32 under bf16).
    /// </summary>
    public static Tensor NormalizedBottleneck(Module<Tensor, Tensor> mlp, Tensor x, int inDim, string head)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.shape.Length == 0 || x.shape[^1] != inDim)
            throw new ArgumentException($"{head} expects [..., {inDim}], got [{string.Join(", ", x.shape)}].", nameof(x));
        using var scope = torch.NewDisposeScope();
        var h = x;
        if (!ComputePrecision.IsBf16) h = mlp.call(x);
        else
            foreach (var layer in mlp is Sequential sequential ? sequential.children() : [mlp])
                h = layer is Linear linear ? ComputePrecision.Linear(linear, h) : ((Module<Tensor, Tensor>)layer).call(h);
        if (h.dtype != x.dtype) h = h.to(x.dtype);
        return NormalizeBottleneck(h).MoveToOuterDisposeScope();
    }

    /// <summary>The L2 normalisation after the MLP: eps 1e-6 in half precision so the clamp is representable, else 1e-12.</summary>
    public static Tensor NormalizeBottleneck(Tensor h) =>
        functional.normalize(h, p: 2, dim: -1, eps: h.dtype == ScalarType.Float16 ? 1e-6 : 1e-12);

    /// <summary>A Linear with trunc-normal(0.02) weight (cut-offs ±2) and zero bias.</summary>
    public static Linear InitLinear(int inDim, int outDim, bool bias)
    {
        var linear = Linear(inDim, outDim, hasBias: bias);
        using (torch.no_grad())
        {
            TruncatedNormal.Fill(linear.weight, mean: 0.0, std: 0.02, a: -2.0, b: 2.0);
            if (linear.bias is not null) linear.bias.zero_();
        }
        return linear;
    }
}
