using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Heads;

/// <summary>
/// The DINO / iBOT projection head: MLP (Linear–GELU–Linear–GELU–Linear to the bottleneck) → L2 normalise →
/// weight-normalised bias-free Linear onto K prototypes. State-dict keys match dinov2's <c>DINOHead</c>:
/// <c>mlp.{0,2,4}.{weight,bias}</c>, <c>last_layer.weight_g [K,1]</c>, <c>last_layer.weight_v [K,bottleneck]</c>.
/// </summary>
/// <remarks>
/// <c>weight_g</c> is held at 1 and excluded from training (requires_grad false), as docs/algorithm.md describes and as
/// DINO v1 does with <c>norm_last_layer=True</c>, so the logits are cosine similarities to the prototypes. Note that
/// dinov2's own DINOHead leaves <c>weight_g</c> trainable; its checkpoints still load here (any g is honoured in forward).
/// </remarks>
public sealed class DinoHead : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> mlp;  // Sequential, or a single Linear when nlayers = 1 (keys mlp.weight, as dinov2)
    private readonly WeightNormLinear last_layer;

    /// <summary>A head with trunc-normal(0.02) MLP weights and unit-norm prototypes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <param name="inDim">Backbone embedding size D.</param>
    /// <param name="outDim">Number of prototypes K (dinov2 default 65536).</param>
    /// <param name="hiddenDim">MLP hidden size (default 2048).</param>
    /// <param name="bottleneckDim">Bottleneck size before the prototypes (default 256).</param>
    /// <param name="nlayers">Linear layers in the MLP (default 3; 1 means a single Linear).</param>
    /// <param name="mlpBias">Whether the MLP Linears have biases (default true).</param>
    public DinoHead(int inDim, int outDim = 65536, int hiddenDim = 2048, int bottleneckDim = 256, int nlayers = 3, bool mlpBias = true)
        : base(nameof(DinoHead))
    {
        ProjectionMlp.CheckSizes(inDim, outDim, hiddenDim, bottleneckDim);
        mlp = ProjectionMlp.Build(Math.Max(nlayers, 1), inDim, hiddenDim, bottleneckDim, mlpBias);
        last_layer = new WeightNormLinear(bottleneckDim, outDim);
        InDim = inDim;
        OutDim = outDim;
        RegisterComponents();
    }

    /// <summary>Input width D (the backbone embedding size).</summary>
    public int InDim { get; }
    /// <summary>Number of prototypes K, the width of the logits.</summary>
    public int OutDim { get; }

    /// <summary>Parameters of the prototype layer, which get lr 0 during the first epoch(s) (the last-layer freeze).</summary>
    public IEnumerable<Parameter> LastLayerParameters => last_layer.parameters();

    /// <summary>x [..., D] → logits [..., K].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return last_layer.call(NormalizedBottleneck(x)).MoveToOuterDisposeScope();
    }

    /// <summary>The L2-normalised MLP output [..., bottleneck] that is fed to the prototypes.</summary>
    public Tensor NormalizedBottleneck(Tensor x) => ProjectionMlp.NormalizedBottleneck(mlp, x, InDim, nameof(DinoHead));

    /// <summary>The effective prototype matrix g·v/‖v_row‖ [K, bottleneck].</summary>
    public Tensor EffectiveLastLayerWeight() => last_layer.EffectiveWeight();
}
