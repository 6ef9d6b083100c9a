using System.Buffers;

namespace DinoSharp.Data;

/// <summary>
/// Crop + resize of an 8-bit RGB image into a float CHW buffer in [0, 1] (what torchvision's resized_crop on a PIL
/// image followed by ToTensor produces), with Pillow's antialiased bicubic: horizontal pass, then vertical pass.
/// Unlike Pillow, the intermediate image is kept in float instead of being rounded and clamped to uint8, and the
/// result is clamped to [0, 1] once at the end; differences are below one grey level.
/// </summary>
public static class BicubicResize
{
    /// <summary>Resamples the <paramref name="box"/> region of <paramref name="image"/> to <paramref name="outWidth"/>×<paramref name="outHeight"/> and writes it planar into <paramref name="destination"/>.</summary>
    /// <param name="image">The source image.</param>
    /// <param name="box">The crop, in source pixels; must lie inside the image.</param>
    /// <param name="outWidth">Output width in pixels.</param>
    /// <param name="outHeight">Output height in pixels.</param>
    /// <param name="flipHorizontal">Mirror the output left–right (RandomHorizontalFlip applied after the resize).</param>
    /// <param name="destination">At least 3·outWidth·outHeight floats; receives [3, outHeight, outWidth] in [0, 1], not normalised.</param>
    /// <param name="greyPlane">The image is greyscale (<see cref="RgbImage.IsGreyscale"/>, the caller's word): resample its
    /// first channel only and write just the first plane, which holds the values all three planes would.</param>
    /// <exception cref="ArgumentOutOfRangeException">The box is empty or reaches outside the image.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public static void ResizeToChw(RgbImage image, CropBox box, int outWidth, int outHeight, bool flipHorizontal, Span<float> destination,
        bool greyPlane = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (box.Left < 0 || box.Top < 0 || box.Width <= 0 || box.Height <= 0
            || box.Left + box.Width > image.Width || box.Top + box.Height > image.Height)
            throw new ArgumentOutOfRangeException(nameof(box), $"{box} is outside the {image.Width}×{image.Height} image.");
        int plane = outWidth * outHeight;
        if (destination.Length < 3 * plane)
            throw new ArgumentException($"Destination holds {destination.Length} floats, need {3 * plane}.", nameof(destination));

        var hw = ResampleWeights.Bicubic(box.Width, outWidth);
        var vw = ResampleWeights.Bicubic(box.Height, outHeight);
        // Only the crop rows some vertical tap reads go through the horizontal pass.
        int rowFirst = vw.Start[0];
        int rowEnd = vw.Start[outHeight - 1] + vw.Length[outHeight - 1];
        for (int y = 0; y < outHeight; y++)
        {
            rowFirst = Math.Min(rowFirst, vw.Start[y]);
            rowEnd = Math.Max(rowEnd, vw.Start[y] + vw.Length[y]);
        }
        int rows = rowEnd - rowFirst;
        int channels = greyPlane ? 1 : 3;
        int rowStride = outWidth * channels;
        float[] tmp = ArrayPool<float>.Shared.Rent(rows * rowStride);
        float[] acc = ArrayPool<float>.Shared.Rent(rowStride);
        try
        {
            byte[] px = image.Pixels;
            int srcStride = image.Width * 3;
            int hk = hw.KernelSize;
            for (int r = 0; r < rows; r++)
            {
                int srcRow = (box.Top + rowFirst + r) * srcStride + box.Left * 3;
                int t = r * rowStride;
                for (int x = 0; x < outWidth; x++)
                {
                    int p = srcRow + hw.Start[x] * 3;
                    int n = hw.Length[x];
                    int wo = x * hk;
                    if (greyPlane)
                    {
                        float a = 0;
                        for (int k = 0; k < n; k++, p += 3)
                            a += hw.Weights[wo + k] * px[p];
                        tmp[t + x] = a;
                        continue;
                    }
                    float a0 = 0, a1 = 0, a2 = 0;
                    for (int k = 0; k < n; k++, p += 3)
                    {
                        float w = hw.Weights[wo + k];
                        a0 += w * px[p];
                        a1 += w * px[p + 1];
                        a2 += w * px[p + 2];
                    }
                    tmp[t + 3 * x] = a0;
                    tmp[t + 3 * x + 1] = a1;
                    tmp[t + 3 * x + 2] = a2;
                }
            }

            int vk = vw.KernelSize;
            const float inv255 = 1f / 255f;
            for (int y = 0; y < outHeight; y++)
            {
                Array.Clear(acc, 0, rowStride);
                int n = vw.Length[y];
                for (int k = 0; k < n; k++)
                {
                    float w = vw.Weights[y * vk + k];
                    int t = (vw.Start[y] - rowFirst + k) * rowStride;
                    for (int i = 0; i < rowStride; i++)
                        acc[i] += w * tmp[t + i];
                }
                int rowOut = y * outWidth;
                for (int x = 0; x < outWidth; x++)
                {
                    int dx = rowOut + (flipHorizontal ? outWidth - 1 - x : x);
                    for (int c = 0; c < channels; c++)
                        destination[c * plane + dx] = Math.Clamp(acc[channels * x + c] * inv255, 0f, 1f);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tmp);
            ArrayPool<float>.Shared.Return(acc);
        }
    }
}
