using System.Buffers.Binary;
using System.Diagnostics;
using DinoSharp.Interop;
using DinoSharp.Training;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// A training run small enough for a test (ViT pico, patch 7, 28 px crops, 64 prototypes, batch 16, 12 steps, one
/// libtorch thread) on a 96-image labelled IDX dataset written by the test (so nothing outside the repository is
/// needed), with the online kNN every 4 steps on the same images, a metrics line every step and a checkpoint every 3 steps.
/// </summary>
public static class TinyRun
{
    public const int Steps = 12;
    public const int CheckpointEvery = 3;

    static readonly Lazy<(string Images, string Labels)> Dataset = new(WriteDataset);

    /// <summary>The images with their labels (the disc's radius, in three classes), for the online kNN.</summary>
    static string LabelledDataset => $"idx:{Dataset.Value.Images},{Dataset.Value.Labels}";
    static readonly Lazy<string> BaselineFolder = new(RunBaseline);

    // The folders outlive single tests (the baseline and the dataset are shared), so they live under one folder per test
    // process, removed when the process exits. The test host can be ended before that handler finishes, so each process
    // also removes the folders of earlier ones that are no longer running.
    static readonly string Root = CreateRoot();

    static string CreateRoot()
    {
        const string prefix = "dinosharp-rel-";
        foreach (var stale in Directory.EnumerateDirectories(Path.GetTempPath(), prefix + "*"))
            if (!int.TryParse(Path.GetFileName(stale)[prefix.Length..], out int pid) || !IsRunning(pid))
                TryDelete(stale);
        string root = Path.Combine(Path.GetTempPath(), prefix + Environment.ProcessId);
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    }

    static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
    }

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public static string NewFolder(string tag) => Directory.CreateDirectory(Path.Combine(Root, $"{tag}-{Guid.NewGuid():N}")).FullName;

    /// <summary>The arguments of `dino train` for this run in <paramref name="outDir"/>.</summary>
    public static List<string> Args(string outDir, bool resume = false, params string[] extra)
    {
        var args = new List<string>
        {
            "train", "--data", "idx:" + Dataset.Value.Images, "--out", outDir, "--steps", Steps.ToString(), "--threads", "1", "--quiet",
        };
        foreach (var set in Overrides)
        {
            args.Add("--set");
            args.Add(set);
        }
        if (resume) args.Add("--resume");
        args.AddRange(extra);
        return args;
    }

    /// <summary>The dataset spec (idx:…) of the 96 test images, for runs built in-process.</summary>
    public static string DataSpec => "idx:" + Dataset.Value.Images;

    /// <summary>The run's --set values (the dataset is given by --data, or by <see cref="Config"/>).</summary>
    public static IReadOnlyList<string> Overrides =>
    [
        "student.arch=vit_pico_p7", "crops.global_crops_size=28", "crops.local_crops_size=14", "crops.local_crops_number=2",
        "dino.head_n_prototypes=64", "ibot.head_n_prototypes=64", "dino.head_hidden_dim=64", "ibot.head_hidden_dim=64",
        "dino.head_bottleneck_dim=32", "ibot.head_bottleneck_dim=32", "train.batch_size=16", "train.num_workers=1",
        "train.knn_every=4", "train.knn_train_dataset=" + LabelledDataset, "train.knn_test_dataset=" + LabelledDataset,
        "train.knn_train_images=64", "train.knn_test_images=32", "train.log_every=1", $"train.checkpoint_every={CheckpointEvery}",
        "optim.epochs=2", "optim.warmup_epochs=1", "teacher.warmup_teacher_temp_epochs=1",
        // The EMA center, not the Fashion-MNIST default's Sinkhorn-Knopp targets: the center is the objective's one piece
        // of state, which a resume must restore and the ranks must agree on, so the resume and MPI tests check it.
        "train.centering=centering",
        // fp32 whatever the CPU: the 2-rank comparison's tolerance is that of float32 summation order (bf16 rounding
        // moves one rank's and two ranks' gradients apart by ~5e-4); bf16 resume has its own test.
        "precision=fp32",
    ];

    /// <summary>The run's resolved config, as `dino train` builds it from <see cref="Args"/>, with more overrides after.</summary>
    public static DinoTrainingConfig Config(params string[] extra) =>
        TrainingConfigLoader.Resolve(null, [.. Overrides, "train.dataset=idx:" + Dataset.Value.Images, .. extra], DefaultConfigs.FashionMnistCpu);

    /// <summary>The uninterrupted run every interrupted one is compared with (run once per test process).</summary>
    public static string Baseline => BaselineFolder.Value;

    static string RunBaseline()
    {
        string dir = NewFolder("baseline");
        var (code, stdout, stderr) = DinoCli.Run(Args(dir));
        if (code != 0) throw new InvalidOperationException($"The baseline run failed ({code}): {stdout} {stderr}");
        return dir;
    }

    static (string Images, string Labels) WriteDataset()
    {
        string dir = NewFolder("data");
        string path = Path.Combine(dir, "images.idx"), labelPath = Path.Combine(dir, "labels.idx");
        const int n = 96, side = 28;
        var bytes = new byte[16 + n * side * side];
        var labels = new byte[8 + n];
        labels[2] = 0x08;
        labels[3] = 1;
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), n);
        bytes[2] = 0x08;
        bytes[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), n);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), side);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), side);
        var rng = new Random(7);
        for (int i = 0; i < n; i++)
        {
            // A bright disc of random centre and radius on a noisy background: some structure to learn.
            int cx = rng.Next(6, 22), cy = rng.Next(6, 22), r = rng.Next(3, 9);
            labels[8 + i] = (byte)((r - 3) / 2);
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                    bytes[16 + i * side * side + y * side + x] = (byte)(((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r ? 200 : 30) + rng.Next(0, 40));
        }
        File.WriteAllBytes(path, bytes);
        File.WriteAllBytes(labelPath, labels);
        return (path, labelPath);
    }

    public static Dictionary<long, StepMetrics> Metrics(string runDir) =>
        MetricsLog.Read(Path.Combine(runDir, "metrics.jsonl")).GroupBy(m => m.Step).ToDictionary(g => g.Key, g => g.Last());

    /// <summary>
    /// Asserts every logged step of <paramref name="runDir"/> has the baseline's loss terms and kNN (to 1e-6 relative)
    /// and that both runs logged the same steps; returns the largest relative difference seen.
    /// </summary>
    public static double AssertSameLosses(string runDir)
    {
        var expected = Metrics(Baseline);
        var actual = Metrics(runDir);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        double worst = 0;
        foreach (var (step, e) in expected)
        {
            var a = actual[step];
            foreach (var (name, x, y) in new[]
            {
                ("total_loss", e.TotalLoss, a.TotalLoss), ("dino_local_loss", e.DinoLocalLoss, a.DinoLocalLoss),
                ("dino_global_loss", e.DinoGlobalLoss, a.DinoGlobalLoss), ("koleo_loss", e.KoleoLoss, a.KoleoLoss),
                ("ibot_loss", e.IbotLoss, a.IbotLoss), ("grad_norm", e.GradNorm, a.GradNorm), ("lr", e.Lr, a.Lr),
                ("teacher_entropy", e.TeacherEntropy, a.TeacherEntropy), ("center_norm", e.CenterNorm, a.CenterNorm),
                ("knn_top1", e.KnnTop1 ?? -1, a.KnnTop1 ?? -1),
            })
            {
                double rel = Math.Abs(x - y) / Math.Max(Math.Abs(x), 1e-12);
                worst = Math.Max(worst, rel);
                Assert.True(rel <= 1e-6, $"step {step} {name}: uninterrupted {x:R}, resumed {y:R}");
            }
        }
        return worst;
    }

    /// <summary>Asserts the exported teacher backbones are bit-identical.</summary>
    public static void AssertSameTeacher(string runDir)
    {
        var expected = SafetensorsFile.Load(Path.Combine(Baseline, "teacher_backbone.safetensors"));
        var actual = SafetensorsFile.Load(Path.Combine(runDir, "teacher_backbone.safetensors"));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, t) in expected)
            Assert.True(t.equal(actual[key]).all().item<bool>(), $"teacher weight {key} differs from the uninterrupted run's");
    }

    /// <summary>Every folder under a final checkpoint name verifies; no half-written checkpoint is visible.</summary>
    public static void AssertOnlyCompleteCheckpoints(string runDir)
    {
        var store = new CheckpointStore(Path.Combine(runDir, "checkpoints"), 1);
        foreach (var dir in store.FinalFolders())
            Assert.True(CheckpointStore.Verify(dir) is not null, $"{dir} is under a final name but does not verify");
    }

    public static string[] TempFolders(string runDir) =>
        Directory.GetDirectories(Path.Combine(runDir, "checkpoints"), ".tmp_*");
}
