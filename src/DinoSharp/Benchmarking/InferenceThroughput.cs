using System.Diagnostics;
using DinoSharp.Layers;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Benchmarking;

/// <summary>Backbone inference speed at one input size and batch, with its analytic FLOPs.</summary>
/// <param name="Name">What was measured, e.g. "ViT-S/14 224 px".</param>
/// <param name="ImageSize">Square input side in pixels.</param>
/// <param name="BatchSize">Images per forward.</param>
/// <param name="ImagesPerSecond">Measured throughput.</param>
/// <param name="FlopsPerImage">Forward FLOPs per image (<see cref="VisionTransformerFlops"/>).</param>
/// <param name="Precision">The compute precision of the matrix products, "fp32" or "bf16": the limit it is a fraction of.</param>
public sealed record InferenceMeasurement(string Name, int ImageSize, int BatchSize, double ImagesPerSecond, ViTFlops FlopsPerImage, string Precision = "fp32")
{
    /// <summary>Sustained forward rate in GFLOP/s: <see cref="ImagesPerSecond"/> × <see cref="ViTFlops.Total"/> / 10⁹.</summary>
    public double GflopsPerSecond => ImagesPerSecond * FlopsPerImage.Total / 1e9;
}

/// <summary>Times backbone inference on random input: TorchSharp in inference mode, or an exported graph in ONNX Runtime.</summary>
public static class InferenceThroughput
{
    /// <summary>One warm-up forward of <see cref="DinoVisionTransformer.ForwardFeatures"/>, then forwards until <paramref name="minSeconds"/> and at least <paramref name="minBatches"/> batches, in <paramref name="precision"/>.</summary>
    public static InferenceMeasurement Measure(string name, DinoVisionTransformer backbone, int imageSize, int batchSize,
        double minSeconds = 2.0, int minBatches = 2, Precision precision = Precision.Fp32)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        backbone.eval();
        var m = Measure(name, backbone.Config, imageSize, batchSize, x =>
        {
            using var _ = torch.inference_mode();
            using var p = ComputePrecision.Use(precision);
            using var o = backbone.ForwardFeatures(x);
        }, minSeconds, minBatches);
        return m with { Precision = ComputePrecision.Name(precision) };
    }

    /// <summary>The same for a graph exported by <see cref="Interop.Onnx.OnnxExporter"/> and run by <paramref name="onnx"/>; <paramref name="config"/> gives the FLOPs.</summary>
    public static InferenceMeasurement Measure(string name, OnnxBackboneEmbedder onnx, VisionTransformerConfig config, int imageSize, int batchSize,
        double minSeconds = 2.0, int minBatches = 2)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        return Measure(name, config, imageSize, batchSize, x => { using var o = onnx.Run(x); }, minSeconds, minBatches);
    }

    static InferenceMeasurement Measure(string name, VisionTransformerConfig config, int imageSize, int batchSize, Action<Tensor> forward,
        double minSeconds, int minBatches)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        using var x = torch.randn(batchSize, config.InChans, imageSize, imageSize);
        forward(x);
        int batches = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            using var scope = torch.NewDisposeScope();
            forward(x);
            batches++;
        } while (clock.Elapsed.TotalSeconds < minSeconds || batches < minBatches);
        double ips = batches * batchSize / clock.Elapsed.TotalSeconds;
        return new InferenceMeasurement(name, imageSize, batchSize, ips, VisionTransformerFlops.PerImage(config, imageSize));
    }
}
