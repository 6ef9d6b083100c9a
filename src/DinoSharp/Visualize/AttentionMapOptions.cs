using DinoSharp.Data;

namespace DinoSharp.Visualize;

/// <summary>Layout of an <see cref="AttentionMapPainter"/> grid.</summary>
public sealed record AttentionMapOptions
{
    /// <summary>Side of each head's square tile in pixels (the h × w map is stretched bilinearly to it).</summary>
    public int TileSize { get; init; } = 112;

    /// <summary>Tiles per row; 0 (default) = ⌈√heads⌉.</summary>
    public int Columns { get; init; }

    /// <summary>Gap between tiles in pixels.</summary>
    public int Padding { get; init; } = 4;

    /// <summary>Optional image drawn under every tile (resized to the tile), e.g. the input the attention belongs to.</summary>
    public RgbImage? Background { get; init; }

    /// <summary>Heat-map opacity over <see cref="Background"/> (ignored without one).</summary>
    public double Opacity { get; init; } = 0.6;
}
