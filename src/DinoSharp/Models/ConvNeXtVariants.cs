namespace DinoSharp.Models;

/// <summary>
/// The released DINOv3 ConvNeXts with the hub's settings (dinov3/hub/backbones.py: <c>convnext_sizes</c>, layer scale 1e-6,
/// no drop path, no patch size, so intermediate maps are not resized; set <see cref="ConvNeXtConfig.PatchSize"/> to 16 for
/// the ViT-like grid of dinov3's training and evaluation configs).
/// </summary>
public static class ConvNeXtVariants
{
    static readonly Dictionary<string, ConvNeXtConfig> Variants = new(StringComparer.OrdinalIgnoreCase)
    {
        ["dinov3_convnext_tiny"] = new() { Depths = [3, 3, 9, 3], Dims = [96, 192, 384, 768] },
        ["dinov3_convnext_small"] = new() { Depths = [3, 3, 27, 3], Dims = [96, 192, 384, 768] },
        ["dinov3_convnext_base"] = new() { Depths = [3, 3, 27, 3], Dims = [128, 256, 512, 1024] },
        ["dinov3_convnext_large"] = new() { Depths = [3, 3, 27, 3], Dims = [192, 384, 768, 1536] },
    };

    /// <summary>dinov3_convnext_tiny, _small, _base and _large.</summary>
    public static IReadOnlyCollection<string> Names => Variants.Keys;

    /// <summary>Whether <paramref name="name"/> is one of <see cref="Names"/> (case-insensitive).</summary>
    public static bool IsKnown(string name) => name is not null && Variants.ContainsKey(name);

    /// <summary>The configuration of a named variant.</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static ConvNeXtConfig Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Variants.TryGetValue(name, out var config)) return config;
        throw new ArgumentException($"Unknown ConvNeXt architecture '{name}'. Known: {string.Join(", ", Variants.Keys)}.");
    }

    /// <summary>A freshly initialised network of the named variant.</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static ConvNeXt Create(string name) => new(Get(name));
}
