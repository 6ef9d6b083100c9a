using DinoSharp.Data;
using DinoSharp.Models;
using DinoSharp.Training;
using TorchSharp;

namespace DinoSharp.Tests.Training;

/// <summary>End-to-end training runs on real images (each well under a minute of CPU).</summary>
[Collection(DinoSharp.Tests.Reliability.ReliabilityCollection.Name)]
public sealed class TrainingRunTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-train-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>
    /// The default Fashion-MNIST recipe, made smaller (batch 32, 64 prototypes) so it runs in well under a minute.
    /// The DINO loss itself is a cross-entropy against moving targets (the center adapts, the teacher temperature warms
    /// up), so what must fall is the part the student controls: DINO loss − teacher entropy ≈ KL(teacher ‖ student),
    /// and the KoLeo term (features spreading). The teacher must not collapse onto one prototype. In both precisions
    /// (bf16 runs on any CPU, slowly where it is not native).
    /// </summary>
    [SkippableTheory]
    [InlineData("fp32")]
    [InlineData("bf16")]
    public void ShortRunOnFashionMnistLowersTheLossWithoutCollapse(string precision)
    {
        Requires.FashionMnist();
        var config = DefaultConfigs.Load("fashion_mnist_cpu",
        [
            "train.batch_size=32", "dino.head_n_prototypes=64", "ibot.head_n_prototypes=64", "dino.head_hidden_dim=128",
            "ibot.head_hidden_dim=128", "train.knn_every=0", "train.log_every=1", "train.checkpoint_every=1000", "train.num_workers=1",
            "precision=" + precision,
        ]);
        var result = new DinoTrainer(config, new TrainingOptions { OutputDir = dir, MaxSteps = 60 }).Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);

        var m = MetricsLog.Read(Path.Combine(dir, "metrics.jsonl")).Where(x => x.Lr > 0 || x.TotalLoss != 0).ToList();
        Assert.Equal(60, m.Count);
        static double Excess(StepMetrics x) => x.DinoLocalLoss + x.DinoGlobalLoss - x.TeacherEntropy;
        double first = m.Take(10).Average(Excess), last = m.TakeLast(10).Average(Excess);
        Assert.True(last < 0.6 * first, $"DINO loss − teacher entropy did not fall: first 10 steps {first:F4}, last 10 {last:F4}");
        double koleoFirst = m.Take(10).Average(x => x.KoleoLoss), koleoLast = m.TakeLast(10).Average(x => x.KoleoLoss);
        Assert.True(koleoLast < koleoFirst, $"KoLeo term did not fall: {koleoFirst:F4} → {koleoLast:F4}");
        double lnK = Math.Log(64);
        Assert.All(m.TakeLast(10), x => Assert.True(x.TeacherEntropy > 0.02 * lnK, $"teacher entropy {x.TeacherEntropy:F3} at step {x.Step}"));
        Assert.All(m, x => Assert.True(double.IsFinite(x.TotalLoss)));

        // The exported teacher loads back through the model resolver and embeds images.
        using var embedder = ModelResolver.Open(dir);
        var images = Enumerable.Range(0, 4).Select(i => new FashionMnist(train: false).Load(i)).ToList();
        using var e = embedder.Embed(images);
        Assert.Equal(new long[] { 4, VisionTransformerVariants.Get(config.Student.Arch).EmbedDim }, e.shape);
    }

    /// <summary>The ImageNet-style ViT-S/14 recipe (224/98 crops, 65536 prototypes) trains on a folder of photos with batch 2.</summary>
    [SkippableFact]
    public void VitSmall14RecipeTrainsOnAFolderOfPhotos()
    {
        Requires.Photos();
        var photos = Path.Combine(dir, "photos");
        Directory.CreateDirectory(photos);
        foreach (var (i, file) in TestPhotos.Files().Take(4).Select((f, i) => (i, f)))
            File.Copy(file, Path.Combine(photos, $"{i}{Path.GetExtension(file)}"));
        var config = DefaultConfigs.Load("vits14_imagenet", [$"train.dataset=folder:{photos}", "train.batch_size=2", "train.checkpoint_every=2", "train.num_workers=1"]);
        var result = new DinoTrainer(config, new TrainingOptions { OutputDir = Path.Combine(dir, "run"), MaxSteps = 3 }).Run();
        Assert.Equal(3, result.Steps);
        Assert.True(File.Exists(Path.Combine(dir, "run", "teacher_backbone.safetensors")));
        Assert.NotNull(CheckpointStore.Verify(Path.Combine(dir, "run", "checkpoints", "step_00000003")));
        var m = MetricsLog.Read(Path.Combine(dir, "run", "metrics.jsonl")).Where(x => x.TotalLoss != 0).ToList();
        Assert.All(m, x => Assert.True(double.IsFinite(x.TotalLoss)));
        // 65536 prototypes: the first DINO loss is near log K for a near-uniform start.
        Assert.InRange(m[0].DinoLocalLoss + m[0].DinoGlobalLoss, 0.5 * Math.Log(65536), 1.5 * Math.Log(65536));
    }

    /// <summary>
    /// The photo demo's path (scripts/photos-demo.sh): configs/photos_cpu.json trains on real photos, and the exported
    /// backbone loads back as a Meta checkpoint is loaded — the weights file and an architecture name, no model.json —
    /// giving the same embeddings as the run folder, also at another input size (position embeddings interpolated).
    /// </summary>
    [SkippableFact]
    public void PhotoRecipeExportLoadsBackByArchitectureName()
    {
        Requires.Photos();
        var config = DefaultConfigs.Load("photos_cpu", [$"train.dataset=folder:{TestPhotos.Folder}", "train.batch_size=4", "train.num_workers=1"]);
        var result = new DinoTrainer(config, new TrainingOptions { OutputDir = dir, MaxSteps = 2 }).Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);

        var images = TestPhotos.Files().Take(3).Select(f => ImageDecoder.Decode(f)).ToList();
        foreach (int? size in new int?[] { null, 224 })
        {
            using var byCard = ModelResolver.Open(dir, imageSize: size);
            using var byArch = ModelResolver.Open(result.TeacherBackbonePath!, arch: "vit_pico_p8", imageSize: size);
            Assert.Equal(byCard.Identity.Preprocessing, byArch.Identity.Preprocessing);
            using var a = byCard.Embed(images);
            using var b = byArch.Embed(images);
            Assert.Equal(new long[] { 3, 128 }, a.shape);
            Assert.True(a.allclose(b), $"embeddings differ at size {size?.ToString() ?? "default"}");
        }
    }
}

/// <summary>Real photos from Debian's python3-skimage (scripts/ensure-deps.sh extracts them).</summary>
public static class TestPhotos
{
    public static string Folder => Environment.GetEnvironmentVariable("DINOSHARP_PHOTOS")
        ?? "/var/cache/dinosharp/photos";

    /// <summary>How many photos the folder holds (the tests need at least 4: <see cref="Requires.Photos"/>).</summary>
    public static int Available => List().Count;

    static List<string> List() => Directory.Exists(Folder)
        ? Directory.GetFiles(Folder).Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".png", StringComparison.OrdinalIgnoreCase)).Order().ToList()
        : [];

    public static IReadOnlyList<string> Files()
    {
        var files = List();
        if (files.Count < 4)
            throw new InvalidOperationException($"Real test photos are missing in {Folder}: run `bash scripts/ensure-deps.sh` as root (it extracts python3-skimage's sample photos), or set DINOSHARP_PHOTOS.");
        return files;
    }
}
