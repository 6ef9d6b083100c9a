using DinoSharp.Layers;

namespace DinoSharp.Models;

/// <summary>
/// Everything that defines a DINOv2 Vision Transformer; names and defaults follow dinov2's DinoVisionTransformer.
/// </summary>
public sealed record VisionTransformerConfig
{
    /// <summary>Image size the position embedding is learned at (518 for Meta's released models: a 37×37 grid).</summary>
    public int ImgSize { get; init; } = 224;
    /// <summary>Patch side p in pixels (14 for Meta's models); image sides must be multiples of it.</summary>
    public int PatchSize { get; init; } = 16;
    /// <summary>Input channels C (3 for RGB).</summary>
    public int InChans { get; init; } = 3;
    /// <summary>Token width D (384 ViT-S, 768 ViT-B, 1024 ViT-L, 1536 ViT-g).</summary>
    public int EmbedDim { get; init; } = 768;
    /// <summary>Number of transformer blocks L.</summary>
    public int Depth { get; init; } = 12;
    /// <summary>Attention heads; must divide <see cref="EmbedDim"/>.</summary>
    public int NumHeads { get; init; } = 12;
    /// <summary>MLP hidden width as a multiple of <see cref="EmbedDim"/> (4).</summary>
    public double MlpRatio { get; init; } = 4.0;
    /// <summary>Whether the attention qkv projection has a bias.</summary>
    public bool QkvBias { get; init; } = true;
    /// <summary>Whether the attention output projection has a bias.</summary>
    public bool ProjBias { get; init; } = true;
    /// <summary>Whether the feed-forward Linears have biases.</summary>
    public bool FfnBias { get; init; } = true;
    /// <summary>MLP, or SwiGLU (ViT-g).</summary>
    public FeedForwardKind FfnLayer { get; init; } = FeedForwardKind.Mlp;
    /// <summary>LayerScale initial value (dinov2 training configs: 1e-5).</summary>
    public double InitValues { get; init; } = 1e-5;
    /// <summary>Stochastic-depth probability of every block during training, the same for all blocks (dinov2's drop_path_uniform), in [0, 1).</summary>
    public double DropPathRate { get; init; }
    /// <summary>Register tokens R (0, or 4 for the _reg models).</summary>
    public int NumRegisterTokens { get; init; }
    /// <summary>False: bicubic with scale factor (h + offset)/M; true: antialiased bicubic to the target size (hub register models).</summary>
    public bool InterpolateAntialias { get; init; }
    /// <summary>dinov2's 0.1 offset added to the target grid before computing the scale factor (0 with antialias).</summary>
    public double InterpolateOffset { get; init; } = 0.1;
    /// <summary>Epsilon of every LayerNorm (1e-6).</summary>
    public double LayerNormEps { get; init; } = 1e-6;

    /// <summary>Side of the learned position grid (ImgSize / PatchSize).</summary>
    public int PositionGrid => ImgSize / PatchSize;

    /// <summary>MLP hidden width, int(EmbedDim · MlpRatio).</summary>
    public int MlpHidden => (int)(EmbedDim * MlpRatio);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public VisionTransformerConfig Validate()
    {
        static void Require(bool ok, string field, object value, string allowed)
        {
            if (!ok) throw new ArgumentException($"Invalid backbone config: {field} = {value}; {allowed}.");
        }
        Require(PatchSize > 0, nameof(PatchSize), PatchSize, "must be positive");
        Require(ImgSize > 0 && ImgSize % PatchSize == 0, nameof(ImgSize), ImgSize, $"must be a positive multiple of the patch size {PatchSize}");
        Require(InChans > 0, nameof(InChans), InChans, "must be positive");
        Require(EmbedDim > 0, nameof(EmbedDim), EmbedDim, "must be positive");
        Require(Depth > 0, nameof(Depth), Depth, "must be positive");
        Require(NumHeads > 0 && EmbedDim % NumHeads == 0, nameof(NumHeads), NumHeads, $"must divide the embedding dimension {EmbedDim}");
        Require(MlpRatio > 0, nameof(MlpRatio), MlpRatio, "must be positive");
        Require(NumRegisterTokens >= 0, nameof(NumRegisterTokens), NumRegisterTokens, "must be 0 or more");
        Require(DropPathRate is >= 0 and < 1, nameof(DropPathRate), DropPathRate, "must be in [0, 1)");
        Require(InterpolateOffset >= 0, nameof(InterpolateOffset), InterpolateOffset, "must be 0 or more");
        Require(LayerNormEps > 0, nameof(LayerNormEps), LayerNormEps, "must be positive");
        return this;
    }
}
