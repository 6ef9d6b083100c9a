using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Benchmarking;

/// <summary>One measured matrix product [M, K] × [K, N] and its sustained rate.</summary>
/// <param name="M">Rows of the left operand.</param>
/// <param name="K">Inner dimension.</param>
/// <param name="N">Columns of the right operand.</param>
/// <param name="GflopsPerSecond">Sustained rate, 2·M·K·N FLOPs per product.</param>
/// <param name="Precision">The operands' type: "fp32" or "bf16" (bfloat16 operands, float32 accumulation inside the kernel).</param>
public sealed record MatmulMeasurement(long M, long K, long N, double GflopsPerSecond, string Precision = "fp32")
{
    /// <summary>The shape as "M×K×N", e.g. "1576×384×1536".</summary>
    public override string ToString() => $"{M}×{K}×{N}";
}

/// <summary>
/// The machine's own limits for this workload: sustained float32 and bfloat16 matrix-multiply rates of libtorch
/// (2·M·K·N FLOPs per product) at the shapes a ViT forward multiplies, on the current libtorch thread setting.
/// </summary>
public static class MatmulRate
{
    /// <summary>
    /// The products of a ViT block with <paramref name="tokens"/> rows (batch × tokens) and width
    /// <paramref name="dim"/>: qkv (D→3D), MLP fc1 (D→4D) and fc2 (4D→D).
    /// </summary>
    public static IReadOnlyList<(long M, long K, long N)> ViTShapes(long tokens, long dim) =>
        [(tokens, dim, 3 * dim), (tokens, dim, 4 * dim), (tokens, 4 * dim, dim)];

    /// <summary>Times each shape for about <paramref name="secondsPerShape"/> after one warm-up product, with operands of <paramref name="precision"/> (fp32 or bf16; auto is resolved).</summary>
    public static IReadOnlyList<MatmulMeasurement> Measure(IEnumerable<(long M, long K, long N)> shapes, double secondsPerShape = 1.0,
        Layers.Precision precision = Layers.Precision.Fp32)
    {
        bool bf16 = Layers.ComputePrecision.Resolve(precision) == Layers.Precision.Bf16;
        var type = bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
        ArgumentNullException.ThrowIfNull(shapes);
        var results = new List<MatmulMeasurement>();
        using var _ = torch.inference_mode();
        foreach (var (m, k, n) in shapes)
        {
            using var a = torch.randn(m, k).to(type);
            using var b = torch.randn(k, n).to(type);
            using (var warm = a.matmul(b)) { }
            int reps = 0;
            var clock = Stopwatch.StartNew();
            do
            {
                using var c = a.matmul(b);
                reps++;
            } while (clock.Elapsed.TotalSeconds < secondsPerShape);
            results.Add(new MatmulMeasurement(m, k, n, 2.0 * m * k * n * reps / clock.Elapsed.TotalSeconds / 1e9, bf16 ? "bf16" : "fp32"));
        }
        return results;
    }
}
