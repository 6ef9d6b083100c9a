namespace DinoSharp.Visualize;

/// <summary>Layout of a <see cref="ContactSheet"/>.</summary>
public sealed record ContactSheetOptions
{
    /// <summary>Side of the square cell each image is fitted into (aspect kept, letterboxed).</summary>
    public int TileSize { get; init; } = 224;

    /// <summary>Gap between cells and around the sheet, in pixels.</summary>
    public int Padding { get; init; } = 8;

    /// <summary>Caption under the left (query) image.</summary>
    public string QueryCaption { get; init; } = "query";

    /// <summary>Caption text size in pixels.</summary>
    public float FontSize { get; init; } = 16;
}
