using System.Text.Json.Serialization;
using DinoSharp.Layers;

namespace DinoSharp.Models;

/// <summary>
/// Everything that defines a DINOv2 or DINOv3 Vision Transformer; names and defaults follow dinov2's
/// DinoVisionTransformer, with dinov3's options beside them (<see cref="Family"/>, <see cref="Rope"/>, storage tokens in
/// <see cref="NumRegisterTokens"/>, <see cref="NormLayer"/>, <see cref="MaskKBias"/>, untied norms, SwiGLU alignment).
/// </summary>
public sealed record VisionTransformerConfig
{
    /// <summary>dinov2 (learned position embedding) or dinov3_vit (RoPE); a model.json without it is dinov2.</summary>
    public BackboneFamily Family { get; init; } = BackboneFamily.Dinov2;
    /// <summary>Image size the position embedding is learned at (518 for Meta's released DINOv2 models: a 37×37 grid); DINOv3 has no learned grid and uses it only as the nominal input size (224).</summary>
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
    /// <summary>MLP hidden width as a multiple of <see cref="EmbedDim"/> (4; dinov3's ffn_ratio, 6 for the "plus" models).</summary>
    public double MlpRatio { get; init; } = 4.0;
    /// <summary>Whether the attention qkv projection has a bias.</summary>
    public bool QkvBias { get; init; } = true;
    /// <summary>Whether the attention output projection has a bias.</summary>
    public bool ProjBias { get; init; } = true;
    /// <summary>Whether the feed-forward Linears have biases.</summary>
    public bool FfnBias { get; init; } = true;
    /// <summary>MLP, or SwiGLU (ViT-g).</summary>
    public FeedForwardKind FfnLayer { get; init; } = FeedForwardKind.Mlp;
    /// <summary>LayerScale initial value (dinov2 training configs and dinov3's layerscale_init: 1e-5); 0 = no LayerScale and no <c>ls*</c> keys.</summary>
    public double InitValues { get; init; } = 1e-5;
    /// <summary>Stochastic-depth probability of every block during training, the same for all blocks (dinov2's drop_path_uniform), in [0, 1).</summary>
    public double DropPathRate { get; init; }
    /// <summary>Register tokens R (0, or 4 for the _reg models); DINOv3's storage tokens (n_storage_tokens, 4 in the released models).</summary>
    public int NumRegisterTokens { get; init; }
    /// <summary>False: bicubic with scale factor (h + offset)/M; true: antialiased bicubic to the target size (hub register models).</summary>
    public bool InterpolateAntialias { get; init; }
    /// <summary>dinov2's 0.1 offset added to the target grid before computing the scale factor (0 with antialias).</summary>
    public double InterpolateOffset { get; init; } = 0.1;
    /// <summary>Epsilon of every norm (1e-6; dinov3's "layernormbf16" 1e-5, "rmsnorm" 1e-5).</summary>
    public double LayerNormEps { get; init; } = 1e-6;
    /// <summary>LayerNorm, or RMSNorm (dinov3's "rmsnorm").</summary>
    public NormKind NormLayer { get; init; } = NormKind.LayerNorm;
    /// <summary>SwiGLU hidden width alignment: 8 (dinov2, dinov3's "swiglu"), or 32/64/128 (dinov3's "swiglu32/64/128").</summary>
    public int SwigluAlignTo { get; init; } = 8;
    /// <summary>dinov3's mask_k_bias: the key third of the qkv bias is multiplied by the <c>qkv.bias_mask</c> buffer (zero).</summary>
    public bool MaskKBias { get; init; }
    /// <summary>dinov3's untie_cls_and_patch_norms: cls and storage tokens go through <c>cls_norm</c>, patches through <c>norm</c>.</summary>
    public bool UntieClsAndPatchNorms { get; init; }
    /// <summary>dinov3's untie_global_and_local_cls_norm: a <c>local_cls_norm</c> for the cls and storage tokens of local crops, used only in training.</summary>
    public bool UntieGlobalAndLocalClsNorm { get; init; }
    /// <summary>DINOv3's rotary position embedding (required for <see cref="BackboneFamily.Dinov3Vit"/>, absent for DINOv2).</summary>
    public RopeConfig? Rope { get; init; }

    /// <summary>Side of the learned position grid (ImgSize / PatchSize; DINOv2 only).</summary>
    public int PositionGrid => ImgSize / PatchSize;

    /// <summary>MLP hidden width, int(EmbedDim · MlpRatio).</summary>
    public int MlpHidden => (int)(EmbedDim * MlpRatio);

    /// <summary>Head size D / heads (derived; not written to model.json).</summary>
    [JsonIgnore]
    public int HeadDim => NumHeads > 0 ? EmbedDim / NumHeads : 0;

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
        Require(InitValues >= 0, nameof(InitValues), InitValues, "must be 0 (no LayerScale) or positive");
        Require(SwigluAlignTo > 0, nameof(SwigluAlignTo), SwigluAlignTo, "must be positive");
        Require(Family != BackboneFamily.Dinov3ConvNext, nameof(Family), "dinov3_convnext", "a ConvNeXt is described by a ConvNeXtConfig, not a ViT config");
        Require(Family != BackboneFamily.Dinov3Vit || Rope is not null, nameof(Rope), "null", "a dinov3_vit backbone needs its RoPE settings");
        Require(Family != BackboneFamily.Dinov2 || Rope is null, nameof(Rope), "set", "a dinov2 backbone has a learned position embedding, not RoPE (family dinov3_vit)");
        Require(Family != BackboneFamily.Dinov3Vit || EmbedDim % (4 * NumHeads) == 0, nameof(NumHeads), NumHeads,
            $"RoPE needs a head size (embedding {EmbedDim} / heads) divisible by 4");
        Rope?.Validate();
        return this;
    }
}
