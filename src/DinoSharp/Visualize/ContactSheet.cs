using DinoSharp.Data;
using SkiaSharp;

namespace DinoSharp.Visualize;

/// <summary>
/// A retrieval picture: the query on the left, a gap, then its neighbours left to right in rank order, each with its
/// similarity score (and caption) written underneath. Text uses the system's default typeface.
/// </summary>
public static class ContactSheet
{
    /// <summary>Renders the sheet as an image.</summary>
    public static RgbImage Render(RgbImage query, IReadOnlyList<ContactSheetNeighbour> neighbours, ContactSheetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(neighbours);
        options ??= new ContactSheetOptions();
        if (options.TileSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"ContactSheetOptions.TileSize must be positive, got {options.TileSize}.");
        if (options.Padding < 0) throw new ArgumentOutOfRangeException(nameof(options), $"ContactSheetOptions.Padding must be ≥ 0, got {options.Padding}.");
        if (!(options.FontSize > 0)) throw new ArgumentOutOfRangeException(nameof(options), $"ContactSheetOptions.FontSize must be positive, got {options.FontSize}.");

        int tile = options.TileSize, pad = options.Padding;
        int textHeight = (int)Math.Ceiling(options.FontSize * 1.4f);
        int gap = 3 * pad;                                                    // wider gap separates the query from the results
        int width = pad + tile + gap + neighbours.Count * (tile + pad);
        int height = pad + tile + pad / 2 + textHeight + pad;

        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, options.FontSize);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var frame = new SKPaint { Color = new SKColor(200, 40, 40), Style = SKPaintStyle.Stroke, StrokeWidth = 3 };

        DrawCell(canvas, query, pad, pad, tile);
        canvas.DrawRect(pad - 1.5f, pad - 1.5f, tile + 3, tile + 3, frame);
        DrawCaption(canvas, options.QueryCaption, pad, pad + tile + pad / 2, tile, font, text);
        for (int i = 0; i < neighbours.Count; i++)
        {
            var n = neighbours[i] ?? throw new ArgumentException($"neighbours[{i}] is null.", nameof(neighbours));
            int x = pad + tile + gap + i * (tile + pad);
            DrawCell(canvas, n.Image, x, pad, tile);
            string caption = n.Caption is null ? $"{n.Score:0.000}" : $"{n.Score:0.000} {n.Caption}";
            DrawCaption(canvas, caption, x, pad + tile + pad / 2, tile, font, text);
        }
        canvas.Flush();
        return Png.FromBitmap(bitmap);
    }

    /// <summary>Renders the sheet and writes it as PNG.</summary>
    public static void Save(string path, RgbImage query, IReadOnlyList<ContactSheetNeighbour> neighbours, ContactSheetOptions? options = null) =>
        Png.Save(Render(query, neighbours, options), path);

    static void DrawCell(SKCanvas canvas, RgbImage image, int x, int y, int tile)
    {
        ArgumentNullException.ThrowIfNull(image);
        double scale = Math.Min((double)tile / image.Width, (double)tile / image.Height);
        float w = (float)(image.Width * scale), h = (float)(image.Height * scale);
        var dest = SKRect.Create(x + (tile - w) / 2, y + (tile - h) / 2, w, h);
        using var bitmap = Png.ToBitmap(image);
        using var skImage = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(skImage, dest, Png.Sampling(smooth: true));
    }

    static void DrawCaption(SKCanvas canvas, string caption, int x, int y, int width, SKFont font, SKPaint paint)
    {
        // Shorten from the end until the caption fits its cell.
        string shown = caption;
        while (shown.Length > 1 && font.MeasureText(shown) > width) shown = shown[..^2] + "…";
        float textWidth = font.MeasureText(shown);
        canvas.DrawText(shown, x + (width - textWidth) / 2, y + font.Size, SKTextAlign.Left, font, paint);
    }
}
