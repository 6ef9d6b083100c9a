using DinoSharp.Layers;

namespace DinoSharp.Models;

/// <summary>
/// Named backbone configurations. The patch-14 variants are Meta's released DINOv2 backbones (518 px: a 37×37 position
/// grid), with "_reg4" adding 4 register tokens and the antialiased position-embedding resize of the hub register models.
/// The small patch-4, patch-7 and patch-14 variants (pico: dim 128; femto: dim 96 with a 2× MLP) are the CPU-sized
/// models this project trains on 32 px and 28 px images; the patch-8 one is for photos at 64 px global crops. The
/// dinov3_* variants are Meta's released DINOv3 ViTs with the hub's settings (family dinov3_vit).
/// </summary>
public static class VisionTransformerVariants
{
    static VisionTransformerConfig Meta(int dim, int depth, int heads, FeedForwardKind ffn = FeedForwardKind.Mlp) => new()
    {
        ImgSize = 518, PatchSize = 14, EmbedDim = dim, Depth = depth, NumHeads = heads, FfnLayer = ffn,
    };

    static VisionTransformerConfig WithRegisters(VisionTransformerConfig c) =>
        c with { NumRegisterTokens = 4, InterpolateAntialias = true, InterpolateOffset = 0.0 };

    static VisionTransformerConfig Cpu(int dim, int depth, int heads, int patch = 4, int img = 32) => new()
    {
        ImgSize = img, PatchSize = patch, EmbedDim = dim, Depth = depth, NumHeads = heads,
    };

    /// <summary>
    /// A released DINOv3 ViT with the hub's settings (dinov3/hub/backbones.py): patch 16, 224 px, 4 storage tokens, masked
    /// key bias, LayerNorm eps 1e-5 ("layernormbf16"), LayerScale 1e-5, RoPE base 100 with separate coordinates in fp32 and
    /// rescale 2 in training.
    /// </summary>
    static VisionTransformerConfig Dinov3(int dim, int depth, int heads, double ffnRatio, FeedForwardKind ffn = FeedForwardKind.Mlp,
        int swigluAlignTo = 8, bool qkvBias = true, bool localClsNorm = false) => new()
    {
        Family = BackboneFamily.Dinov3Vit, ImgSize = 224, PatchSize = 16, EmbedDim = dim, Depth = depth, NumHeads = heads,
        MlpRatio = ffnRatio, FfnLayer = ffn, SwigluAlignTo = swigluAlignTo, QkvBias = qkvBias, InitValues = 1e-5,
        NumRegisterTokens = 4, LayerNormEps = 1e-5, MaskKBias = true, UntieGlobalAndLocalClsNorm = localClsNorm,
        Rope = new RopeConfig { Base = 100, NormalizeCoords = RopeCoordinateNormalization.Separate, RescaleCoords = 2, Dtype = RopeDtype.Fp32 },
    };

    static readonly Dictionary<string, VisionTransformerConfig> Variants = new(StringComparer.OrdinalIgnoreCase)
    {
        ["vit_small"] = Meta(384, 12, 6),
        ["vit_base"] = Meta(768, 12, 12),
        ["vit_large"] = Meta(1024, 24, 16),
        ["vit_giant2"] = Meta(1536, 40, 24, FeedForwardKind.SwiGLU),
        ["vit_small_reg4"] = WithRegisters(Meta(384, 12, 6)),
        ["vit_base_reg4"] = WithRegisters(Meta(768, 12, 12)),
        ["vit_large_reg4"] = WithRegisters(Meta(1024, 24, 16)),
        ["vit_giant2_reg4"] = WithRegisters(Meta(1536, 40, 24, FeedForwardKind.SwiGLU)),
        ["vit_pico_p4"] = Cpu(128, 4, 4),
        ["vit_tiny_p4"] = Cpu(192, 6, 3),
        ["vit_small_p4"] = Cpu(384, 6, 6),
        ["vit_pico_p7"] = Cpu(128, 4, 4, patch: 7, img: 28),
        ["vit_tiny_p7"] = Cpu(192, 6, 3, patch: 7, img: 28),
        ["vit_pico_p14"] = Cpu(128, 4, 4, patch: 14, img: 28),
        // The Fashion-MNIST default: narrower than pico (dim 96, 3 heads) with an MLP 2× wide, not 4×; at equal CPU
        // time its cheaper step learns more (docs/results.md, "Why a smaller backbone").
        ["vit_femto_p14"] = Cpu(96, 4, 3, patch: 14, img: 28) with { MlpRatio = 2 },
        ["vit_pico_p8"] = Cpu(128, 4, 4, patch: 8, img: 64),
        // A CPU-sized DINOv3 ViT for training on Fashion-MNIST (vit_pico_p14's size): RoPE, 4 storage tokens, masked key bias.
        ["dinov3_vit_pico_p14"] = Dinov3(128, 4, 4, 4) with { PatchSize = 14, ImgSize = 28 },
        ["dinov3_vits16"] = Dinov3(384, 12, 6, 4),
        ["dinov3_vits16plus"] = Dinov3(384, 12, 6, 6, FeedForwardKind.SwiGLU),
        ["dinov3_vitb16"] = Dinov3(768, 12, 12, 4),
        ["dinov3_vitl16"] = Dinov3(1024, 24, 16, 4),
        // The SAT-493M (satellite) ViT-L: the same network plus the training-only local_cls_norm its checkpoint carries.
        ["dinov3_vitl16_sat493m"] = Dinov3(1024, 24, 16, 4, localClsNorm: true),
        ["dinov3_vitl16plus"] = Dinov3(1024, 24, 16, 6, FeedForwardKind.SwiGLU),
        ["dinov3_vith16plus"] = Dinov3(1280, 32, 20, 6, FeedForwardKind.SwiGLU),
        ["dinov3_vit7b16"] = Dinov3(4096, 40, 32, 3, FeedForwardKind.SwiGLU, swigluAlignTo: 64, qkvBias: false, localClsNorm: true),
    };

    static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["dinov2_vits14"] = "vit_small", ["dinov2_vitb14"] = "vit_base", ["dinov2_vitl14"] = "vit_large", ["dinov2_vitg14"] = "vit_giant2",
        ["dinov2_vits14_reg"] = "vit_small_reg4", ["dinov2_vitb14_reg"] = "vit_base_reg4",
        ["dinov2_vitl14_reg"] = "vit_large_reg4", ["dinov2_vitg14_reg"] = "vit_giant2_reg4",
    };

    /// <summary>The canonical variant names (vit_small, …, vit_pico_p7); Meta's hub aliases are accepted by <see cref="Get"/> but not listed.</summary>
    public static IReadOnlyCollection<string> Names => Variants.Keys;

    /// <summary>The configuration of a named variant (Meta's hub names such as dinov2_vits14_reg are accepted too).</summary>
    public static VisionTransformerConfig Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Aliases.TryGetValue(name, out var canonical)) name = canonical;
        if (Variants.TryGetValue(name, out var config)) return config;
        throw new ArgumentException($"Unknown architecture '{name}'. Known: {string.Join(", ", Variants.Keys.Concat(Aliases.Keys))}.");
    }

    /// <summary>A freshly initialised network of the named variant.</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static DinoVisionTransformer Create(string name) => new(Get(name));

    /// <summary>
    /// The per-channel mean and std a named variant's weights expect, when they are not ImageNet's: the SAT-493M (satellite)
    /// DINOv3 models use (0.430, 0.411, 0.296) / (0.213, 0.156, 0.143) (dinov3's README); null for every other variant.
    /// </summary>
    public static (double[] Mean, double[] Std)? PixelStatistics(string name) =>
        name.Contains("sat493m", StringComparison.OrdinalIgnoreCase) ? ([0.430, 0.411, 0.296], [0.213, 0.156, 0.143]) : null;

    /// <summary>The variant names of one family (for messages that suggest an architecture).</summary>
    public static IEnumerable<string> NamesOf(BackboneFamily family) =>
        Variants.Where(kv => kv.Value.Family == family).Select(kv => kv.Key);

    /// <summary>
    /// The named variants whose state dict has exactly these keys and shapes (the image size of a DINOv2 variant aside,
    /// which only sets the learned grid): which --arch a checkpoint was made for.
    /// </summary>
    public static IEnumerable<string> Matching(IReadOnlyDictionary<string, long[]> shapes)
    {
        foreach (var (name, config) in Variants)
        {
            var layout = StateDictLayout.Of(config);
            if (layout.Count == shapes.Count && layout.All(e => shapes.TryGetValue(e.Key, out var s)
                    && (e.Key == "pos_embed" || s.SequenceEqual(e.Shape))))
                yield return name;
        }
    }
}
