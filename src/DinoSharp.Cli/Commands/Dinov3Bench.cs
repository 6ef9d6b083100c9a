using DinoSharp.Benchmarking;
using DinoSharp.Interop.Onnx;
using DinoSharp.Models;
using TorchSharp;

namespace DinoSharp.Cli.Commands;

/// <summary>The bench's DINOv3 ViT-S/16 rows: TorchSharp and ONNX Runtime (RoPE computed inside the graph), float32, on the same weights.</summary>
internal static class Dinov3Bench
{
    const string Arch = "dinov3_vits16";
    const int Size = 224, Batch = 8;

    /// <summary>Best of two alternating rounds of TorchSharp and ONNX Runtime inference on an untrained (seed 0) dinov3_vits16.</summary>
    public static InferenceMeasurement[] Measure(int threads, Action<string> log)
    {
        log("DINOv3 ViT-S/16 inference, TorchSharp and ONNX Runtime alternated");
        var config = VisionTransformerVariants.Get(Arch);
        using var generator = new torch.Generator(0);
        using var vit = new DinoVisionTransformer(config, generator);
        var dir = Directory.CreateTempSubdirectory("dinosharp-bench-v3-");
        try
        {
            string path = Path.Combine(dir.FullName, "vits16.onnx");
            OnnxExporter.Export(vit, path, new OnnxExportOptions { Height = Size, Width = Size, Outputs = OnnxOutputs.Cls | OnnxOutputs.Patch });
            using var ort = new OnnxBackboneEmbedder(path, threads: threads);
            InferenceMeasurement? torchRate = null, ortRate = null;
            for (int round = 0; round < 2; round++)
            {
                torchRate = Faster(torchRate, InferenceThroughput.Measure("DINOv3 ViT-S/16", vit, Size, Batch, minSeconds: 2));
                ortRate = Faster(ortRate, InferenceThroughput.Measure("DINOv3 ViT-S/16, ONNX Runtime", ort, config, Size, Batch, minSeconds: 2));
            }
            return [torchRate!, ortRate!];
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    static InferenceMeasurement Faster(InferenceMeasurement? best, InferenceMeasurement m) =>
        best is null || m.ImagesPerSecond > best.ImagesPerSecond ? m : best;
}
