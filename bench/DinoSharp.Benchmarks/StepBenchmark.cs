using DinoSharp.Benchmarking;
using DinoSharp.Training;

namespace DinoSharp.Benchmarks;

/// <summary>
/// Times the phases of training steps of a config (library <see cref="StepProfiler"/>, the same code as `dino bench`):
/// model only (one batch from memory), then end to end through the loader.
/// Usage: step [config] [--set overrides…] — e.g. step fashion_mnist_cpu train.batch_size=64.
/// </summary>
public static class StepBenchmark
{
    public static void Run(string[] args)
    {
        string name = args.Length > 0 ? args[0] : "fashion_mnist_cpu";
        var config = DefaultConfigs.Load(name, args.Skip(1).ToList());
        using var profiler = new StepProfiler(config);
        var limit = MatmulRate.Measure([(8192, 512, 512)]).Single();
        Console.WriteLine($"config {name}, batch {config.Train.BatchSize}, threads {TorchSharp.torch.get_num_threads()}, loader threads {profiler.Workers}");
        Console.WriteLine($"matmul 8192×512×512: {limit.GflopsPerSecond:F1} GFLOP/s");
        var (modelOnly, endToEnd) = profiler.Interleaved(1, 3);
        foreach (var (title, p) in new[] { ("model only", modelOnly), ("end to end", endToEnd) })
        {
            Console.WriteLine($"{title}: {p.WallSecondsPerStep * 1e3:F0} ms/step, {p.ImagesPerSecond:F1} images/s, {p.GflopsPerSecond:F1} GFLOP/s ({p.GflopsPerSecond / limit.GflopsPerSecond:P0} of matmul)");
            Console.WriteLine($"  data wait {p.DataWait * 1e3,8:F1} ms");
            Console.WriteLine($"  teacher   {p.Teacher * 1e3,8:F1} ms");
            Console.WriteLine($"  student   {p.StudentForward * 1e3,8:F1} ms");
            Console.WriteLine($"  backward  {p.Backward * 1e3,8:F1} ms");
            Console.WriteLine($"  optimizer {p.Optimizer * 1e3,8:F1} ms");
            Console.WriteLine($"  EMA       {p.Ema * 1e3,8:F1} ms");
        }
    }
}
