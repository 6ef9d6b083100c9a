using System.Runtime.InteropServices;
using DinoSharp.Data;
using SkiaSharp;

namespace DinoSharp.Visualize;

/// <summary>PNG files and resizing for <see cref="RgbImage"/>, through SkiaSharp.</summary>
public static class Png
{
    /// <summary>Writes <paramref name="image"/> as PNG, resized first when a target size is given (creating the folder).</summary>
    /// <param name="image">Image to write.</param>
    /// <param name="path">Destination file.</param>
    /// <param name="width">Output width; null keeps the image's (or scales with <paramref name="height"/>).</param>
    /// <param name="height">Output height; null keeps the image's (or scales with <paramref name="width"/>).</param>
    /// <param name="smooth">Bilinear resampling; false (default) = nearest neighbour, which keeps patch maps blocky and honest.</param>
    public static void Save(RgbImage image, string path, int? width = null, int? height = null, bool smooth = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var target = width is null && height is null ? image
            : Resize(image, width ?? (int)Math.Round((double)image.Width * height!.Value / image.Height),
                height ?? (int)Math.Round((double)image.Height * width!.Value / image.Width), smooth);
        using var bitmap = ToBitmap(target);
        Write(bitmap, path);
    }

    /// <summary>Decodes any format SkiaSharp reads (PNG, JPEG, WebP, …) into RGB.</summary>
    public static RgbImage Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found.", path);
        using var decoded = SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path}: not a decodable image.");
        return FromBitmap(decoded);
    }

    /// <summary>Resizes to exactly <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height, bool smooth = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (width == image.Width && height == image.Height) return image;
        using var source = ToBitmap(image);
        using var resized = source.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), Sampling(smooth))
            ?? throw new InvalidOperationException($"SkiaSharp could not resize {image.Width}×{image.Height} to {width}×{height}.");
        return FromBitmap(resized);
    }

    internal static SKSamplingOptions Sampling(bool smooth) =>
        smooth ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None) : new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None);

    internal static void Write(SKBitmap bitmap, string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode {bitmap.Width}×{bitmap.Height} as PNG.");
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    internal static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var row = new byte[bitmap.RowBytes];
        nint dst = bitmap.GetPixels();
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                int s = (y * image.Width + x) * 3;
                row[x * 4] = image.Pixels[s];
                row[x * 4 + 1] = image.Pixels[s + 1];
                row[x * 4 + 2] = image.Pixels[s + 2];
                row[x * 4 + 3] = 255;
            }
            Marshal.Copy(row, 0, dst + y * bitmap.RowBytes, row.Length);
        }
        return bitmap;
    }

    internal static RgbImage FromBitmap(SKBitmap bitmap)
    {
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 ? null : bitmap.Copy(SKColorType.Rgba8888);
        var source = rgba ?? bitmap;
        var pixels = new byte[source.Width * source.Height * 3];
        var row = new byte[source.RowBytes];
        nint src = source.GetPixels();
        for (int y = 0; y < source.Height; y++)
        {
            Marshal.Copy(src + y * source.RowBytes, row, 0, row.Length);
            for (int x = 0; x < source.Width; x++)
            {
                int d = (y * source.Width + x) * 3;
                pixels[d] = row[x * 4];
                pixels[d + 1] = row[x * 4 + 1];
                pixels[d + 2] = row[x * 4 + 2];
            }
        }
        return new RgbImage(source.Width, source.Height, pixels);
    }
}
