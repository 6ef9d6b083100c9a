using System.Buffers;

namespace DinoSharp.Data;

/// <summary>
/// Separable Gaussian blur of a float CHW image with reflect padding (torchvision's gaussian_blur: kernel
/// exp(−x²/2σ²) on x = −r..r, normalised to sum 1). Reflection is repeated, so kernels wider than the image work too.
/// </summary>
public static class GaussianBlur
{
    /// <summary>The 1-D kernel; <paramref name="kernelSize"/> 0 means 2·ceil(3σ)+1.</summary>
    public static float[] Kernel(double sigma, int kernelSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(sigma, 0.0);
        if (kernelSize == 0) kernelSize = 2 * (int)Math.Ceiling(3 * sigma) + 1;
        if (kernelSize < 1 || kernelSize % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), $"Kernel size must be odd, got {kernelSize}.");
        int radius = kernelSize / 2;
        var k = new double[kernelSize];
        double sum = 0;
        for (int i = 0; i < kernelSize; i++)
        {
            double x = (i - radius) / sigma;
            k[i] = Math.Exp(-0.5 * x * x);
            sum += k[i];
        }
        return k.Select(v => (float)(v / sum)).ToArray();
    }

    /// <summary>Blurs the channels of <paramref name="chw"/> in place: rows, then columns, each with <paramref name="kernel"/>.</summary>
    /// <param name="chw">A float [3, height, width] image.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="kernel">An odd-length 1-D kernel summing to 1 (<see cref="Kernel"/>).</param>
    /// <param name="channels">Planes to blur: 3, or 1 for a grey image held as one plane.</param>
    public static void Apply(Span<float> chw, int height, int width, ReadOnlySpan<float> kernel, int channels = 3)
    {
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), $"channels = {channels}: must be 1 (one grey plane) or 3.");
        int plane = height * width;
        int radius = kernel.Length / 2;
        float[] tmp = ArrayPool<float>.Shared.Rent(plane);
        int[] colIndex = ArrayPool<int>.Shared.Rent(width + 2 * radius);
        int[] rowIndex = ArrayPool<int>.Shared.Rent(height + 2 * radius);
        try
        {
            for (int i = 0; i < width + 2 * radius; i++) colIndex[i] = Reflect(i - radius, width);
            for (int i = 0; i < height + 2 * radius; i++) rowIndex[i] = Reflect(i - radius, height) * width;
            for (int c = 0; c < channels; c++)
            {
                var ch = chw.Slice(c * plane, plane);
                for (int y = 0; y < height; y++)
                {
                    var row = ch.Slice(y * width, width);
                    for (int x = 0; x < width; x++)
                    {
                        float a = 0;
                        for (int k = 0; k < kernel.Length; k++)
                            a += kernel[k] * row[colIndex[x + k]];
                        tmp[y * width + x] = a;
                    }
                }
                for (int y = 0; y < height; y++)
                {
                    var outRow = ch.Slice(y * width, width);
                    outRow.Clear();
                    for (int k = 0; k < kernel.Length; k++)
                    {
                        float w = kernel[k];
                        int src = rowIndex[y + k];
                        for (int x = 0; x < width; x++)
                            outRow[x] += w * tmp[src + x];
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tmp);
            ArrayPool<int>.Shared.Return(colIndex);
            ArrayPool<int>.Shared.Return(rowIndex);
        }
    }

    /// <summary>Reflect padding without repeating the edge (…2 1 | 0 1 2 … n−1 | n−2 …), repeated as needed.</summary>
    public static int Reflect(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
}
