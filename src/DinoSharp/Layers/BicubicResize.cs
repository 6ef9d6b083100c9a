using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// The two bicubic resizes dinov2 applies to its position-embedding grid, written as separable [out, in] weight matrices
/// so a resize is two matrix products (differentiable, device-agnostic, and exportable as constants).
/// </summary>
public static class BicubicResize
{
    /// <summary>
    /// The [out, in] matrix of one axis of F.interpolate(mode="bicubic", align_corners=False). <paramref name="srcPerDst"/>
    /// is the coordinate scale the kernel uses: 1/scale_factor when a scale factor is passed (dinov2's offset mode, where
    /// it differs from in/out), in/out when a size is passed.
    /// Plain: source coordinate (dst + 0.5)·s − 0.5, Keys cubic A = −0.75, taps clamped to the border.
    /// Antialiased: PIL's kernel with A = −0.5, support 2·max(s, 1), taps renormalised to sum 1, no clamping.
    /// </summary>
    public static double[,] Matrix(int inSize, int outSize, double srcPerDst, bool antialias)
    {
        if (inSize <= 0) throw new ArgumentOutOfRangeException(nameof(inSize), inSize, "Input size must be positive.");
        if (outSize <= 0) throw new ArgumentOutOfRangeException(nameof(outSize), outSize, "Output size must be positive.");
        if (!(srcPerDst > 0)) throw new ArgumentOutOfRangeException(nameof(srcPerDst), srcPerDst, "Scale must be positive.");
        return antialias ? AntialiasMatrix(inSize, outSize, srcPerDst) : CubicMatrix(inSize, outSize, srcPerDst);
    }

    static double[,] CubicMatrix(int inSize, int outSize, double scale)
    {
        const double A = -0.75;
        var m = new double[outSize, inSize];
        for (int i = 0; i < outSize; i++)
        {
            double src = scale * (i + 0.5) - 0.5;
            int i0 = (int)Math.Floor(src);
            double t = src - i0;
            Span<double> w = [Cubic2(t + 1, A), Cubic1(t, A), Cubic1(1 - t, A), Cubic2(2 - t, A)];
            for (int k = 0; k < 4; k++)
                m[i, Math.Clamp(i0 - 1 + k, 0, inSize - 1)] += w[k];
        }
        return m;
    }

    static double[,] AntialiasMatrix(int inSize, int outSize, double scale)
    {
        double support = 2.0 * Math.Max(scale, 1.0);
        double invScale = scale >= 1.0 ? 1.0 / scale : 1.0;
        var m = new double[outSize, inSize];
        for (int i = 0; i < outSize; i++)
        {
            double center = scale * (i + 0.5);
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize);
            double total = 0;
            for (int j = xmin; j < xmax; j++)
                total += m[i, j] = AntialiasKernel((j - center + 0.5) * invScale);
            if (total != 0)
                for (int j = xmin; j < xmax; j++)
                    m[i, j] /= total;
        }
        return m;
    }

    /// <summary>Resizes grids [..., inH, inW] with row matrix [outH, inH] and column matrix [outW, inW].</summary>
    public static Tensor Apply(Tensor grid, double[,] rows, double[,] cols)
    {
        using var r = ToTensor(rows, grid);
        using var c = ToTensor(cols, grid);
        using var tmp = torch.matmul(r, grid);
        return torch.matmul(tmp, c.t());
    }

    static Tensor ToTensor(double[,] m, Tensor like)
    {
        using var t = torch.tensor(m, ScalarType.Float64);
        return t.to(like.dtype, like.device);
    }

    static double Cubic1(double x, double a) => ((a + 2) * x - (a + 3)) * x * x + 1;

    static double Cubic2(double x, double a) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;

    static double AntialiasKernel(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }
}
