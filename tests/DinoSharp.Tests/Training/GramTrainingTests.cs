using DinoSharp.Models;
using DinoSharp.Tests.Reliability;
using DinoSharp.Training;
using TorchSharp;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Training;

/// <summary>
/// Training a DINOv3 ViT with Gram anchoring (configs/fashion_mnist_dinov3_cpu.json): the Gram term in metrics.jsonl, a
/// resumed run equal to an uninterrupted one (the Gram teacher snapshot and its refresh count are in the checkpoint), and
/// the gram.* validation.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class GramTrainingTests(ITestOutputHelper output) : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-gram-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The shipped DINOv3 CPU config made tiny: batch 16 of the 96 test images, small heads, one thread's worth of work.</summary>
    static DinoTrainingConfig Tiny(params string[] extra) => DefaultConfigs.Load("fashion_mnist_dinov3_cpu",
    [
        "train.dataset=" + TinyRun.DataSpec, "train.batch_size=16", "train.num_workers=1", "train.knn_every=0", "train.log_every=1",
        "train.checkpoint_every=5", "crops.local_crops_number=2",
        "dino.head_n_prototypes=64", "ibot.head_n_prototypes=64", "dino.head_hidden_dim=64", "ibot.head_hidden_dim=64",
        "dino.head_bottleneck_dim=32", "ibot.head_bottleneck_dim=32", "optim.epochs=2", "optim.warmup_epochs=1",
        "teacher.warmup_teacher_temp_epochs=1",
        // Snapshot before step 2, refreshed once after step 3 (max_updates 1: no second refresh after step 7).
        "gram.it_load_ema_teacher=2", "gram.it_first_update=4", "gram.update_frequency=4", "gram.max_updates=1",
        .. extra,
    ]);

    [Fact]
    public void ResumingAGramRunEqualsTheUninterruptedRun()
    {
        var config = Tiny();
        string whole = Path.Combine(dir, "whole"), split = Path.Combine(dir, "split");
        const int Steps = 10;
        new DinoTrainer(config, new TrainingOptions { OutputDir = whole, MaxSteps = Steps, Threads = 1 }).Run();

        // Interrupted after step 6 (between the refresh after step 3 and the one max_updates forbids after step 7), then resumed.
        using var cancel = new CancellationTokenSource();
        var first = new DinoTrainer(config, new TrainingOptions { OutputDir = split, MaxSteps = Steps, Threads = 1 }, new RecordingProgress(6, cancel)).Run(cancel.Token);
        Assert.Equal(TrainingOutcome.Interrupted, first.Outcome);
        Assert.Equal(6, first.Steps);
        var second = new DinoTrainer(config, new TrainingOptions { OutputDir = split, MaxSteps = Steps, Resume = true, Threads = 1 }).Run();
        Assert.Equal(TrainingOutcome.Completed, second.Outcome);

        var a = TinyRun.Metrics(whole);
        var b = TinyRun.Metrics(split);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var step in a.Keys.Where(s => s > 0))
        {
            output.WriteLine($"step {step}: total {a[step].TotalLoss:G9} / {b[step].TotalLoss:G9}, gram {a[step].GramLoss:G9} / {b[step].GramLoss:G9} (weight {a[step].GramLossWeight})");
            Assert.Equal(a[step].TotalLoss, b[step].TotalLoss, 12);
            Assert.Equal(a[step].GramLoss!.Value, b[step].GramLoss!.Value, 12);
            Assert.Equal(a[step].GramLossWeight, b[step].GramLossWeight);
        }
        // No Gram term before its snapshot exists (steps 0 and 1), then weight 1 and a positive loss.
        Assert.All(a.Values.Where(m => m.Step is 1 or 2), m => Assert.Equal(0.0, m.GramLossWeight));
        Assert.All(a.Values.Where(m => m.Step >= 3), m => Assert.True(m.GramLossWeight == 1.0 && m.GramLoss > 0, $"step {m.Step}: gram {m.GramLoss} × {m.GramLossWeight}"));

        var wholeTeacher = DinoSharp.Interop.SafetensorsFile.Load(Path.Combine(whole, "teacher_backbone.safetensors"));
        var splitTeacher = DinoSharp.Interop.SafetensorsFile.Load(Path.Combine(split, "teacher_backbone.safetensors"));
        foreach (var (key, t) in wholeTeacher)
            Assert.True(t.allclose(splitTeacher[key], rtol: 0, atol: 0), $"teacher {key} differs after resume");
        // The final checkpoint holds the Gram teacher and its state: snapshot taken, one refresh.
        var store = new CheckpointStore(Path.Combine(split, "checkpoints"), 3);
        var checkpoint = DinoSharp.Interop.SafetensorsFile.Load(Path.Combine(store.Latest()!.Value.Path, "model.safetensors"));
        Assert.Equal(new long[] { 1, 1 }, checkpoint["gram.gram_state"].data<long>().ToArray());
        Assert.Contains("gram.gram_teacher.rope_embed.periods", checkpoint.Keys);
    }

    /// <summary>The shipped DINOv3 config on Fashion-MNIST, made smaller: the part of the DINO loss the student controls falls, and the Gram term is logged and falls once anchored.</summary>
    [SkippableFact]
    public void ShortDinov3RunOnFashionMnistLowersTheLossAndLogsTheGramTerm()
    {
        Requires.FashionMnist();
        var config = DefaultConfigs.Load("fashion_mnist_dinov3_cpu",
        [
            "train.batch_size=32", "dino.head_n_prototypes=64", "ibot.head_n_prototypes=64", "dino.head_hidden_dim=128",
            "ibot.head_hidden_dim=128", "train.knn_every=0", "train.log_every=1", "train.checkpoint_every=1000", "train.num_workers=1",
            "gram.it_load_ema_teacher=10", "gram.it_first_update=30", "gram.update_frequency=30",
        ]);
        Assert.Equal(BackboneFamily.Dinov3Vit, SslMetaArch.ResolveBackbone(config).Family);
        var result = new DinoTrainer(config, new TrainingOptions { OutputDir = dir, MaxSteps = 60 }).Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);

        var m = MetricsLog.Read(Path.Combine(dir, "metrics.jsonl")).Where(x => x.Lr > 0 || x.TotalLoss != 0).ToList();
        Assert.Equal(60, m.Count);
        static double Excess(StepMetrics x) => x.DinoLocalLoss + x.DinoGlobalLoss - x.TeacherEntropy;
        double first = m.Take(10).Average(Excess), last = m.TakeLast(10).Average(Excess);
        output.WriteLine($"DINO loss − teacher entropy: first 10 steps {first:F4}, last 10 {last:F4}");
        Assert.True(last < 0.6 * first, $"DINO loss − teacher entropy did not fall: first 10 steps {first:F4}, last 10 {last:F4}");
        Assert.All(m.Where(x => x.Step <= 10), x => Assert.Equal(0.0, x.GramLossWeight));
        var anchored = m.Where(x => x.Step > 10).ToList();
        Assert.All(anchored, x => Assert.True(x.GramLossWeight == 1.0 && x.GramLoss > 0 && double.IsFinite(x.GramLoss!.Value)));
        foreach (var x in anchored.Where(x => x.Step % 5 == 0)) output.WriteLine($"step {x.Step}: gram {x.GramLoss:F5}, total {x.TotalLoss:F4}");
        // Anchored, the student's patch similarities move towards the snapshot's: the term of the last ten steps is below that of the first five.
        double gramFirst = anchored.Take(5).Average(x => x.GramLoss!.Value), gramLast = anchored.TakeLast(10).Average(x => x.GramLoss!.Value);
        Assert.True(gramLast < gramFirst, $"Gram term did not fall: first 5 anchored steps {gramFirst:F5}, last 10 {gramLast:F5}");

        // The exported DINOv3 teacher loads back through the model resolver and embeds images.
        using var embedder = ModelResolver.Open(dir);
        var images = Enumerable.Range(0, 4).Select(i => new DinoSharp.Data.FashionMnist(train: false).Load(i)).ToList();
        using var e = embedder.Embed(images);
        Assert.Equal(new long[] { 4, 128 }, e.shape);
    }

    [Theory]
    [InlineData("gram.it_load_ema_teacher=-1", "gram.it_load_ema_teacher = -1: the Gram teacher snapshot would never exist")]
    [InlineData("gram.it_first_update=1", "gram.it_first_update = 1: the first refresh (after step 3) would refresh a Gram teacher snapshot before it exists")]
    [InlineData("gram.ema_teacher=true", "gram.rep_update = True: must be false with gram.ema_teacher = true")]
    [InlineData("gram.remove_only_teacher_neg=true,gram.remove_neg=true", "gram.remove_only_teacher_neg")]
    [InlineData("gram.tokens_used=some", "gram.tokens_used = some: must be all, masked or unmasked")]
    public void AGramConfigThatCannotWorkIsOneLineNamingTheKey(string settings, string message)
    {
        var config = Tiny(settings.Split(','));
        if (settings.StartsWith("gram.it_first_update", StringComparison.Ordinal))
            config = config with { Gram = config.Gram with { ItLoadEmaTeacher = 6 } };
        var e = Assert.Throws<ConfigException>(() => TrainingConfigValidator.Validate(config));
        output.WriteLine(e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith(message, e.Message);
    }
}
