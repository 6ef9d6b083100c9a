using DinoSharp.Data;
using DinoSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Benchmarks;

/// <summary>Prints how much the teacher's outputs vary across images at each stage (backbone, bottleneck, logits).</summary>
public static class Diagnose
{
    public static void Run(string[] args)
    {
        var config = DefaultConfigs.Load(args.Length > 0 ? args[0] : "fashion_mnist_cpu", args.Skip(1));
        torch.manual_seed(0);
        using var arch = new SslMetaArch(config);
        var ds = DatasetSpec.Open(config.Train.Dataset);
        var loader = new MultiCropDataLoader(ds, new MultiCropAugmentation(config.Crops), MultiCropCollator.ForCrops(config.Crops, arch.BackboneConfig.PatchSize), config.Train.BatchSize, 0, 1);
        using var batch = loader.BuildBatch(0);
        using var _ = torch.no_grad();
        var o = arch.Teacher.Backbone.ForwardFeatures(batch.GlobalCrops);
        var cls = nn.functional.normalize(o.ClsToken, dim: 1);
        Console.WriteLine($"cls: mean pairwise cos {Mean(cls.mm(cls.t())):F4}");
        var z = arch.Teacher.DinoHead.NormalizedBottleneck(o.ClsToken);
        Console.WriteLine($"bottleneck: mean pairwise cos {Mean(z.mm(z.t())):F4}");
        var t = arch.Teacher.DinoHead.forward(o.ClsToken);
        var centered = t - t.mean([0], keepdim: true);
        Console.WriteLine($"logits std over images {centered.std().item<float>():F5}, over prototypes {t.std([1]).mean().item<float>():F5}");
        var p = (centered / 0.04).softmax(-1);
        var h = -(p * p.clamp_min(1e-12).log()).sum(-1).mean();
        Console.WriteLine($"teacher entropy after exact centering {h.item<float>():F3} (ln K = {Math.Log(t.shape[1]):F3})");
    }

    static double Mean(Tensor sim)
    {
        long n = sim.shape[0];
        return ((sim.sum() - sim.diag().sum()) / (n * (n - 1))).item<float>();
    }
}
