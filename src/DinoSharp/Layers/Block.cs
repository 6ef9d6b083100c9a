using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// Pre-norm transformer block: x += drop_path(ls1 ⊙ attn(norm1 x)); x += drop_path(ls2 ⊙ mlp(norm2 x)).
/// Field names are dinov2's and dinov3's, so the state-dict keys are too. The one DINOv3 difference in the computation
/// is the optional RoPE tables handed to the attention; the rest are construction options (norm kind, masked key
/// bias, SwiGLU layout, LayerScale or none).
/// </summary>
public sealed class Block : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> norm1;
    readonly Attention attn;
    readonly LayerScale? ls1;
    readonly nn.Module<Tensor, Tensor> norm2;
    readonly nn.Module<Tensor, Tensor> mlp;
    readonly LayerScale? ls2;
    readonly double dropPath;
    readonly bool subsetDropPath;

    /// <summary>Creates the block's layers with the reference names (<c>norm1</c>, <c>attn</c>, <c>ls1</c>, <c>norm2</c>, <c>mlp</c>, <c>ls2</c>).</summary>
    /// <param name="dim">Embedding width D.</param>
    /// <param name="numHeads">Attention heads.</param>
    /// <param name="mlpHidden">Hidden width of the feed-forward network (SwiGLU derives its own from it).</param>
    /// <param name="ffn">Feed-forward kind.</param>
    /// <param name="qkvBias">Bias on the qkv projection.</param>
    /// <param name="projBias">Bias on the attention output projection.</param>
    /// <param name="ffnBias">Biases in the feed-forward network.</param>
    /// <param name="layerScaleInit">Initial LayerScale γ (1e-5 in the released models); 0 means no LayerScale (no <c>ls1</c>/<c>ls2</c>), as the references' <c>if init_values</c>.</param>
    /// <param name="dropPath">Probability of dropping each residual branch per sample during training, in [0, 1).</param>
    /// <param name="layerNormEps">Epsilon of the norms (1e-6 in dinov2).</param>
    /// <param name="norm">LayerNorm or RMSNorm.</param>
    /// <param name="maskKBias">dinov3's masked key bias on the qkv projection.</param>
    /// <param name="fusedSwiGLU">SwiGLU's key layout: dinov2's <c>w12</c> (true) or dinov3's <c>w1</c>/<c>w2</c> (false).</param>
    /// <param name="swigluAlignTo">SwiGLU hidden-width alignment (8, or 32/64/128 for dinov3's swiglu32/64/128).</param>
    /// <param name="subsetDropPath">
    /// Batch-subset stochastic depth (dinov3's always, dinov2's above a rate of 0.1): each branch is computed on a random
    /// subset of max(int(B·(1−p)), 1) samples and added to them scaled by B/subset (index_add), instead of a per-sample
    /// Bernoulli mask.
    /// </param>
    public Block(long dim, int numHeads, long mlpHidden, FeedForwardKind ffn, bool qkvBias, bool projBias, bool ffnBias,
        double layerScaleInit, double dropPath, double layerNormEps, NormKind norm = NormKind.LayerNorm, bool maskKBias = false,
        bool fusedSwiGLU = true, int swigluAlignTo = 8, bool subsetDropPath = false) : base(nameof(Block))
    {
        norm1 = CreateNorm(norm, dim, layerNormEps);
        attn = new Attention(dim, numHeads, qkvBias, projBias, maskKBias);
        ls1 = layerScaleInit != 0 ? new LayerScale(dim, layerScaleInit) : null;
        norm2 = CreateNorm(norm, dim, layerNormEps);
        mlp = ffn switch
        {
            FeedForwardKind.Mlp => new Mlp(dim, mlpHidden, ffnBias),
            FeedForwardKind.SwiGLU => new SwiGLUFFN(dim, mlpHidden, ffnBias, fusedSwiGLU, swigluAlignTo),
            _ => throw new ArgumentOutOfRangeException(nameof(ffn), ffn, "Unknown feed-forward kind."),
        };
        ls2 = layerScaleInit != 0 ? new LayerScale(dim, layerScaleInit) : null;
        this.dropPath = dropPath;
        this.subsetDropPath = subsetDropPath;
        RegisterComponents();
    }

    /// <summary>Whether training drops branches on a batch subset (else per sample); see the constructor.</summary>
    public bool SubsetDropPath => subsetDropPath;

    /// <summary>A LayerNorm or an RMSNorm over <paramref name="dim"/> channels.</summary>
    public static nn.Module<Tensor, Tensor> CreateNorm(NormKind kind, long dim, double eps) => kind switch
    {
        NormKind.LayerNorm => nn.LayerNorm(dim, eps),
        NormKind.RmsNorm => new RmsNorm(dim, eps),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown norm kind."),
    };

    /// <summary>x [B, N, D] → [B, N, D]; drop path only in training mode.</summary>
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>As <see cref="forward"/>, with the attention's q and k of the last H·W tokens rotated by <paramref name="rope"/> when given.</summary>
    public Tensor Forward(Tensor x, RopeTables? rope)
    {
        using var scope = torch.NewDisposeScope();
        if (dropPath == 0 || !training)
        {
            // x + branch ⊙ γ in one pass (addcmul) instead of a multiply and an add: 2–3 % of ViT-S/14 inference.
            var h1 = Residual(x, attn.Forward(norm1.forward(x), rope), ls1);
            return Residual(h1, mlp.forward(norm2.forward(h1)), ls2).MoveToOuterDisposeScope();
        }
        if (subsetDropPath) return ForwardOnSubsets(x, rope).MoveToOuterDisposeScope();
        var a = DropPath.Apply(Scale(attn.Forward(norm1.forward(x), rope), ls1), dropPath, training);
        var h = x + a;
        var f = DropPath.Apply(Scale(mlp.forward(norm2.forward(h)), ls2), dropPath, training);
        return (h + f).MoveToOuterDisposeScope();
    }

    /// <summary>The block output and the attention weights [B, heads, N, N] of its attention layer (eval only).</summary>
    public (Tensor Output, Tensor Attention) ForwardWithAttention(Tensor x, RopeTables? rope = null)
    {
        using var scope = torch.NewDisposeScope();
        var (a, weights) = attn.ForwardWithWeights(norm1.forward(x), rope);
        var h = x + Scale(a, ls1);
        var y = h + Scale(mlp.forward(norm2.forward(h)), ls2);
        return (y.MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// dinov3's training forward with drop path: attention on the samples randperm(B)[:k], added back to them with weight
    /// B/k, then the MLP on another random subset of the result, k = max(int(B·(1−p)), 1). Samples outside a subset keep
    /// their tokens unchanged for that branch.
    /// </summary>
    Tensor ForwardOnSubsets(Tensor x, RopeTables? rope)
    {
        long b = x.shape[0];
        long k = Math.Max((long)(b * (1 - dropPath)), 1);
        double scale = (double)b / k;
        var first = torch.randperm(b, device: x.device)[..(int)k];
        var branch1 = Scale(attn.Forward(norm1.forward(x.index_select(0, first)), rope), ls1);
        var h = x.index_add(0, first, branch1, scale);
        var second = torch.randperm(b, device: x.device)[..(int)k];
        var branch2 = Scale(mlp.forward(norm2.forward(h.index_select(0, second))), ls2);
        return h.index_add(0, second, branch2, scale);
    }

    static Tensor Residual(Tensor x, Tensor branch, LayerScale? ls) =>
        ls is null ? x + branch : torch.addcmul(x, branch, ls.Gamma, 1);

    static Tensor Scale(Tensor branch, LayerScale? ls) => ls is null ? branch : ls.forward(branch);
}
