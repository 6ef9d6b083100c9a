using System.Diagnostics;
using DinoSharp.Data;
using DinoSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Benchmarks;

/// <summary>Times the parts of one training step of a config on one fixed batch (model only, data from memory).</summary>
public static class StepBenchmark
{
    public static void Run(string[] args)
    {
        string name = args.Length > 0 ? args[0] : "fashion_mnist_cpu";
        var overrides = args.Skip(1).ToList();
        var config = DefaultConfigs.Load(name, overrides);
        torch.manual_seed(0);
        using var arch = new SslMetaArch(config);
        var dataset = DatasetSpec.Open(config.Train.Dataset);
        var loader = new MultiCropDataLoader(dataset, new MultiCropAugmentation(config.Crops),
            MultiCropCollator.ForCrops(config.Crops, arch.BackboneConfig.PatchSize), config.Train.BatchSize, 0, 1);
        using var batch = loader.BuildBatch(0);
        var groups = ParameterGroups.Build(arch.Student.named_parameters().Where(p => p.parameter.requires_grad), arch.BackboneConfig.Depth);
        var opt = torch.optim.AdamW(arch.Student.parameters().Where(p => p.requires_grad), lr: 1e-4);

        double Time(Action a, int reps = 5)
        {
            a(); // warm
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) { using var s = torch.NewDisposeScope(); a(); }
            return sw.Elapsed.TotalMilliseconds / reps;
        }

        double teacher = Time(() => { using var _ = torch.no_grad(); using var o = arch.Teacher.Backbone.ForwardFeatures(batch.GlobalCrops); });
        double studentGlobal = Time(() => { using var _ = torch.no_grad(); using var o = arch.Student.Backbone.ForwardFeatures(batch.GlobalCrops, batch.Masks); });
        double studentLocal = Time(() => { using var _ = torch.no_grad(); using var o = arch.Student.Backbone.ForwardFeatures(batch.LocalCrops); });
        double full = Time(() => { opt.zero_grad(); arch.ForwardBackward(batch, 0.04); });
        double clip = Time(() => { foreach (var m in arch.Student.ClippingGroups()) GradientClipping.ClipGradNorm(m.parameters(), 3.0); });
        double step = Time(() => opt.step());
        double ema = Time(() => ExponentialMovingAverage.Update(arch.Teacher.parameters(), arch.Student.parameters(), 0.99));
        // Machine limit: float32 matmul at a size like the model's.
        using var a = torch.randn(8192, 512); using var b = torch.randn(512, 512);
        double mm = Time(() => { using var c = torch.matmul(a, b); }, 20);
        double gflops = 2.0 * 8192 * 512 * 512 / (mm * 1e6);
        int B = config.Train.BatchSize;
        Console.WriteLine($"config {name}, batch {B}, threads {torch.get_num_threads()}");
        Console.WriteLine($"teacher fwd (no grad)        {teacher,8:F1} ms");
        Console.WriteLine($"student global fwd (no grad) {studentGlobal,8:F1} ms");
        Console.WriteLine($"student local fwd (no grad)  {studentLocal,8:F1} ms");
        Console.WriteLine($"forward+backward (all)       {full,8:F1} ms  → {B / (full / 1000):F0} img/s");
        Console.WriteLine($"clip                         {clip,8:F1} ms");
        Console.WriteLine($"optimizer step               {step,8:F1} ms");
        Console.WriteLine($"EMA                          {ema,8:F1} ms");
        Console.WriteLine($"matmul 8192x512x512          {mm,8:F2} ms  → {gflops:F0} GFLOP/s");
    }
}
