namespace DinoSharp.Data;

/// <summary>
/// One axis of a PIL-style separable resampling: output sample i reads input samples [Start[i], Start[i]+Length[i])
/// with weights Weights[i·KernelSize + k]. Computed as Pillow's precompute_coeffs: the kernel is stretched by the
/// scale factor when downscaling (antialiasing) and the taps of each output are renormalised to sum to 1.
/// </summary>
public sealed class ResampleWeights
{
    /// <summary>Pillow's bicubic uses a = −0.5 (PyTorch's non-antialiased bicubic uses −0.75).</summary>
    public const double BicubicA = -0.5;

    const double BicubicSupport = 2.0;

    ResampleWeights(int kernelSize, int[] start, int[] length, float[] weights)
    {
        KernelSize = kernelSize;
        Start = start;
        Length = length;
        Weights = weights;
    }

    /// <summary>Stride of <see cref="Weights"/> per output sample: the most taps any output can have.</summary>
    public int KernelSize { get; }
    /// <summary>Per output sample, the first input sample it reads.</summary>
    public int[] Start { get; }
    /// <summary>Per output sample, how many input samples it reads (≤ <see cref="KernelSize"/>).</summary>
    public int[] Length { get; }
    /// <summary>Tap weights, [outSize · KernelSize]; the first Length[i] of output i's taps are used and sum to 1.</summary>
    public float[] Weights { get; }

    /// <summary>The cubic convolution kernel with a = <see cref="BicubicA"/> at distance <paramref name="x"/> (in input samples); 0 beyond 2.</summary>
    public static double Bicubic(double x)
    {
        const double a = BicubicA;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
        if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
        return 0.0;
    }

    /// <summary>Bicubic weights mapping <paramref name="inSize"/> samples onto <paramref name="outSize"/>.</summary>
    public static ResampleWeights Bicubic(int inSize, int outSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outSize, 1);
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = BicubicSupport * filterScale;
        int kernelSize = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize];
        var length = new int[outSize];
        var weights = new float[outSize * kernelSize];
        Span<double> k = stackalloc double[kernelSize];
        double invFilterScale = 1.0 / filterScale;
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            // (int) truncates toward zero exactly like Pillow's C cast.
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            double sum = 0;
            for (int x = 0; x < xmax; x++)
            {
                double w = Bicubic((x + xmin - center + 0.5) * invFilterScale);
                k[x] = w;
                sum += w;
            }
            for (int x = 0; x < xmax; x++)
                weights[i * kernelSize + x] = (float)(sum != 0 ? k[x] / sum : k[x]);
            start[i] = xmin;
            length[i] = xmax;
        }
        return new ResampleWeights(kernelSize, start, length, weights);
    }
}
