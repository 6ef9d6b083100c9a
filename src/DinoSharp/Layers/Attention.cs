using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// Multi-head self-attention with one fused qkv projection (rows q | k | v, heads contiguous inside each),
/// computed by <see cref="ComputePrecision.Attention"/> (libtorch's fused kernel in float32). DINOv3's variant is the same layer with two options:
/// a masked key bias (<see cref="LinearKMaskedBias"/>) and RoPE tables that rotate q and k of the patch tokens.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> qkv;
    readonly Linear proj;
    readonly int numHeads;

    /// <summary>Creates <c>qkv</c> (D → 3D) and <c>proj</c> (Linear D → D), as dinov2's MemEffAttention and dinov3's SelfAttention.</summary>
    /// <param name="dim">Embedding width D.</param>
    /// <param name="numHeads">Attention heads; must divide <paramref name="dim"/>.</param>
    /// <param name="qkvBias">Whether the qkv projection has a bias.</param>
    /// <param name="projBias">Whether the output projection has a bias.</param>
    /// <param name="maskKBias">dinov3's mask_k_bias: the qkv bias (when there is one) is a <see cref="LinearKMaskedBias"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="dim"/> is not divisible by <paramref name="numHeads"/>.</exception>
    public Attention(long dim, int numHeads, bool qkvBias = true, bool projBias = true, bool maskKBias = false) : base(nameof(Attention))
    {
        if (dim % numHeads != 0)
            throw new ArgumentException($"Embedding dimension {dim} is not divisible by the number of heads {numHeads}.");
        this.numHeads = numHeads;
        qkv = maskKBias && qkvBias ? new LinearKMaskedBias(dim, dim * 3) : nn.Linear(dim, dim * 3, qkvBias);
        proj = nn.Linear(dim, dim, projBias);
        RegisterComponents();
    }

    /// <summary>x [B, N, D] → [B, N, D]: softmax(q·kᵀ/√headDim)·v per head, heads concatenated, then <c>proj</c>.</summary>
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>As <see cref="forward"/>, with q and k of the last H·W tokens rotated by <paramref name="rope"/> when given.</summary>
    public Tensor Forward(Tensor x, RopeTables? rope)
    {
        using var scope = torch.NewDisposeScope();
        var (q, k, v) = SplitHeads(x, rope);
        var o = ComputePrecision.Attention(q, k, v);   // [B, heads, N, headDim]
        return Merge(o, x.shape).MoveToOuterDisposeScope();
    }

    /// <summary>Attention output and the softmax attention weights [B, heads, N, N] (for attention maps; not fused).</summary>
    public (Tensor Output, Tensor Weights) ForwardWithWeights(Tensor x, RopeTables? rope = null)
    {
        using var scope = torch.NewDisposeScope();
        var (q, k, v) = SplitHeads(x, rope);
        double scale = 1.0 / Math.Sqrt(q.shape[3]);
        // The maps are read as probabilities: softmax in float32 whatever the precision of q, k and v.
        var weights = torch.matmul(q * scale, k.transpose(-2, -1)).to(ScalarType.Float32).softmax(-1);
        var o = torch.matmul(weights.to(v.dtype), v);
        return (Merge(o, x.shape).MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope());
    }

    (Tensor Q, Tensor K, Tensor V) SplitHeads(Tensor x, RopeTables? rope)
    {
        long b = x.shape[0], n = x.shape[1], c = x.shape[2];
        // [B, N, 3C] → [3, B, heads, N, headDim]
        var parts = ComputePrecision.Linear(qkv, x).reshape(b, n, 3, numHeads, c / numHeads).permute(2, 0, 3, 1, 4);
        if (rope is null) return (parts[0], parts[1], parts[2]);
        return (rope.Apply(parts[0]), rope.Apply(parts[1]), parts[2]);
    }

    Tensor Merge(Tensor o, long[] shape) =>
        ComputePrecision.Linear(proj, o.transpose(1, 2).reshape(shape[0], shape[1], shape[2]));   // heads concatenated in order
}
