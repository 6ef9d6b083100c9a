using System.Diagnostics;
using DinoSharp.Distributed;
using DinoSharp.Training;
using TorchSharp;

namespace DinoSharp.Benchmarks;

/// <summary>
/// Time of one gradient all-reduce (what <see cref="DinoTrainer"/> does per step: the presence flags, then every
/// student gradient averaged in flat chunks) for the student of each named config. Run it under mpirun, e.g.
/// <c>mpirun -np 2 bench/DinoSharp.Benchmarks/bin/Release/net10.0/linux-x64/DinoSharp.Benchmarks allreduce</c>.
/// Usage: allreduce [config …] (default: fashion_mnist_cpu vits14_imagenet).
/// </summary>
public static class AllReduceBenchmark
{
    public static void Run(string[] args)
    {
        using var comm = Communicator.FromEnvironment();
        foreach (string name in args.Length > 0 ? args : ["fashion_mnist_cpu", "vits14_imagenet"])
        {
            var config = DefaultConfigs.Load(name);
            torch.manual_seed(0);
            using var arch = new SslMetaArch(config);
            var parameters = arch.Student.parameters().Where(p => p.requires_grad).ToList();
            foreach (var p in parameters) p.grad = torch.randn_like(p);
            long elements = parameters.Sum(p => p.numel());
            var times = new List<double>();
            for (int i = 0; i < 12; i++)
            {
                comm.Barrier();
                var clock = Stopwatch.StartNew();
                comm.AverageGradients(parameters);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            // The first two rounds warm the transport up; an all-reduce ends on every rank at about the same time.
            var timed = times.Skip(2).Order().ToList();
            if (comm.Rank == 0)
                Console.WriteLine($"{name}: {arch.Config.Student.Arch} student, {elements / 1e6:F2} M gradients ({elements * 4 / 1e6:F0} MB), " +
                    $"{comm.WorldSize} rank(s): median {timed[timed.Count / 2]:F1} ms (min {timed[0]:F1}, max {timed[^1]:F1}), " +
                    $"{elements * 4 / 1e6 / (timed[timed.Count / 2] / 1e3):F0} MB/s");
        }
    }
}
