using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Heads;

/// <summary>
/// DINOv3's projection head (dinov3/layers/dino_head.py): the same MLP and L2-normalised bottleneck as
/// <see cref="DinoHead"/>, then a plain bias-free Linear onto K prototypes, without weight normalisation. Keys
/// <c>mlp.{0,2,4}.{weight,bias}</c> and <c>last_layer.weight [K, bottleneck]</c>.
/// </summary>
/// <remarks>
/// Without weight normalisation the prototypes are free vectors: the logits are dot products with the normalised
/// bottleneck, not cosine similarities. The reference's init_weights draws every Linear, the prototypes included,
/// from trunc-normal(0.02).
/// </remarks>
public sealed class DinoV3Head : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> mlp;  // Sequential, or a single Linear when nlayers = 1 (keys mlp.weight, as dinov3)
    private readonly Linear last_layer;

    /// <summary>A head with trunc-normal(0.02) weights and zero biases (the reference's init_weights).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <param name="inDim">Backbone embedding size D.</param>
    /// <param name="outDim">Number of prototypes K (dinov3 default 65536).</param>
    /// <param name="hiddenDim">MLP hidden size (default 2048).</param>
    /// <param name="bottleneckDim">Bottleneck size before the prototypes (default 256).</param>
    /// <param name="nlayers">Linear layers in the MLP (default 3; 1 means a single Linear).</param>
    /// <param name="mlpBias">Whether the MLP Linears have biases (default true).</param>
    public DinoV3Head(int inDim, int outDim = 65536, int hiddenDim = 2048, int bottleneckDim = 256, int nlayers = 3, bool mlpBias = true)
        : base(nameof(DinoV3Head))
    {
        ProjectionMlp.CheckSizes(inDim, outDim, hiddenDim, bottleneckDim);
        mlp = ProjectionMlp.Build(Math.Max(nlayers, 1), inDim, hiddenDim, bottleneckDim, mlpBias);
        last_layer = ProjectionMlp.InitLinear(bottleneckDim, outDim, bias: false);
        InDim = inDim;
        OutDim = outDim;
        RegisterComponents();
    }

    /// <summary>Input width D (the backbone embedding size).</summary>
    public int InDim { get; }
    /// <summary>Number of prototypes K, the width of the logits.</summary>
    public int OutDim { get; }

    /// <summary>Parameters of the prototype layer (for a last-layer freeze).</summary>
    public IEnumerable<Parameter> LastLayerParameters => last_layer.parameters();

    /// <summary>x [..., D] → logits [..., K].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return last_layer.call(NormalizedBottleneck(x)).MoveToOuterDisposeScope();
    }

    /// <summary>The L2-normalised MLP output [..., bottleneck] (the reference's forward with no_last_layer=True), the MLP's Linears in the current <see cref="Layers.ComputePrecision"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> does not end with <see cref="InDim"/>.</exception>
    public Tensor NormalizedBottleneck(Tensor x) => ProjectionMlp.NormalizedBottleneck(mlp, x, InDim, nameof(DinoV3Head));

    /// <summary>The prototypes alone, bottleneck [..., bottleneck] → logits [..., K] (the reference's only_last_layer=True).</summary>
    public Tensor Prototypes(Tensor bottleneck)
    {
        ArgumentNullException.ThrowIfNull(bottleneck);
        return last_layer.call(bottleneck);
    }
}
