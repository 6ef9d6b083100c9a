using DinoSharp.Layers;

namespace DinoSharp.Models;

/// <summary>
/// Named backbone configurations. The patch-14 variants are Meta's released DINOv2 backbones (518 px: a 37×37 position
/// grid), with "_reg4" adding 4 register tokens and the antialiased position-embedding resize of the hub register models.
/// The small patch-4, patch-7 and patch-14 variants are the CPU-sized models this project trains on 32 px and 28 px images; the
/// patch-8 one is for photos at 64 px global crops.
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
        ["vit_pico_p8"] = Cpu(128, 4, 4, patch: 8, img: 64),
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
}
