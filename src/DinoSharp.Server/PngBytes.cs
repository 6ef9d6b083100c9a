using System.Runtime.InteropServices;
using DinoSharp.Data;
using SkiaSharp;

namespace DinoSharp.Server;

/// <summary>PNG encoding to memory and fitted resizing, for the images the explorer sends.</summary>
static class PngBytes
{
    /// <summary>The image as PNG bytes.</summary>
    public static byte[] Encode(RgbImage image)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, j = 0; i < image.Pixels.Length; i += 3, j += 4)
        {
            rgba[j] = image.Pixels[i];
            rgba[j + 1] = image.Pixels[i + 1];
            rgba[j + 2] = image.Pixels[i + 2];
            rgba[j + 3] = 255;
        }
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);   // RowBytes = 4·width for Rgba8888
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode {image.Width}×{image.Height} as PNG.");
        return data.ToArray();
    }

    /// <summary>Scaled down (bilinear) so the longer side is at most <paramref name="maxSide"/>; small images unchanged.</summary>
    public static RgbImage Fit(RgbImage image, int maxSide)
    {
        int longer = Math.Max(image.Width, image.Height);
        if (longer <= maxSide) return image;
        double scale = (double)maxSide / longer;
        return Visualize.Png.Resize(image, Math.Max(1, (int)Math.Round(image.Width * scale)), Math.Max(1, (int)Math.Round(image.Height * scale)), smooth: true);
    }
}
