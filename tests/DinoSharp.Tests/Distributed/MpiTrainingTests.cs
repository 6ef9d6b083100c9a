using DinoSharp.Interop;
using DinoSharp.Tests.Reliability;
using DinoSharp.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Distributed;

/// <summary>
/// Data-parallel training under `mpirun -np 2` against one process with the same global batch: TinyRun's 12 steps of
/// batch 16 (2 ranks × 8), KoLeo off — its nearest neighbours are searched within each rank's shard, as in the
/// reference, so it is the one term that depends on the number of ranks (drop path, the other, is 0 in this config).
/// </summary>
[Trait("Category", "Mpi")]
public sealed class MpiTrainingTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-5;
    static readonly string[] Extra = ["--set", "dino.koleo_loss_weight=0", "--set", "train.knn_every=0"];

    [MpiFact]
    public void Two_ranks_train_like_one_rank_with_the_whole_batch_and_resume()
    {
        string one = TinyRun.NewFolder("mpi-one"), two = TinyRun.NewFolder("mpi-two");
        var single = DinoCli.Run(TinyRun.Args(one, false, Extra), TimeSpan.FromMinutes(3));
        Assert.True(single.ExitCode == 0, single.Stderr);
        var pair = Mpirun.RunDino(2, TinyRun.Args(two, false, Extra));
        Assert.True(pair.ExitCode == 0, pair.Stdout + pair.Stderr);
        // Rank 0 alone reports (and writes the run folder).
        Assert.Single(pair.Stdout.Split('\n'), l => l.Contains("Trained 12 steps"));

        var expected = TinyRun.Metrics(one);
        var actual = TinyRun.Metrics(two);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        double worst = 0;
        foreach (var (step, e) in expected)
        {
            var a = actual[step];
            foreach (var (name, x, y) in new[]
            {
                ("total_loss", e.TotalLoss, a.TotalLoss), ("dino_local_loss", e.DinoLocalLoss, a.DinoLocalLoss),
                ("dino_global_loss", e.DinoGlobalLoss, a.DinoGlobalLoss), ("ibot_loss", e.IbotLoss, a.IbotLoss),
                ("grad_norm", e.GradNorm, a.GradNorm), ("teacher_entropy", e.TeacherEntropy, a.TeacherEntropy),
                ("center_norm", e.CenterNorm, a.CenterNorm),
            })
                worst = Math.Max(worst, AssertClose(x, y, $"step {step} {name}"));
        }
        string lastCheckpoint = Path.Combine(two, "checkpoints", $"step_{TinyRun.Steps:D8}");
        var centersOne = Centers(Path.Combine(one, "checkpoints", $"step_{TinyRun.Steps:D8}"));
        foreach (var (key, c) in Centers(lastCheckpoint))
            worst = Math.Max(worst, AssertClose(centersOne[key], c, key));
        var teacherOne = SafetensorsFile.Load(Path.Combine(one, "teacher_backbone.safetensors"));
        var teacherTwo = SafetensorsFile.Load(Path.Combine(two, "teacher_backbone.safetensors"));
        Assert.Equal(teacherOne.Keys.Order(), teacherTwo.Keys.Order());
        foreach (var (key, t) in teacherOne)
        {
            if (!key.EndsWith("attn.qkv.bias", StringComparison.Ordinal))
            {
                worst = Math.Max(worst, AssertClose(t, teacherTwo[key], $"teacher {key}"));
                continue;
            }
            // The key bias adds q·b to every logit of a query's softmax, which cancels: its gradient is 0 up to rounding,
            // and AdamW (dividing by √v) turns that rounding noise into steps of the learning rate's size, different
            // for any change of summation order. The query and value biases are compared; the key bias cannot be.
            var (a, b) = (t.chunk(3), teacherTwo[key].chunk(3));
            worst = Math.Max(worst, AssertClose(a[0], b[0], $"teacher {key} (query part)"));
            worst = Math.Max(worst, AssertClose(a[2], b[2], $"teacher {key} (value part)"));
        }
        output.WriteLine($"largest relative difference, 2 ranks against 1: {worst:E2}");

        // Resume with the same 2 ranks from the checkpoint before the last: the same teacher, bit for bit.
        byte[] uninterrupted = File.ReadAllBytes(Path.Combine(two, "teacher_backbone.safetensors"));
        Directory.Delete(lastCheckpoint, recursive: true);
        File.Delete(Path.Combine(two, "teacher_backbone.safetensors"));
        var resumed = Mpirun.RunDino(2, TinyRun.Args(two, true, Extra));
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        Assert.Equal(uninterrupted, File.ReadAllBytes(Path.Combine(two, "teacher_backbone.safetensors")));
    }

    /// <summary>
    /// Sinkhorn-Knopp targets (the Fashion-MNIST default) normalise over the global batch, summing across the ranks: two
    /// ranks must give one rank's losses, teacher entropy and gradient norm, step by step.
    /// </summary>
    [MpiFact]
    public void Two_ranks_give_one_ranks_sinkhorn_knopp_targets()
    {
        string[] extra = [.. Extra, "--set", "train.centering=sinkhorn_knopp"];
        string one = TinyRun.NewFolder("mpi-sk-one"), two = TinyRun.NewFolder("mpi-sk-two");
        var single = DinoCli.Run(TinyRun.Args(one, false, extra), TimeSpan.FromMinutes(3));
        Assert.True(single.ExitCode == 0, single.Stderr);
        var pair = Mpirun.RunDino(2, TinyRun.Args(two, false, extra));
        Assert.True(pair.ExitCode == 0, pair.Stdout + pair.Stderr);
        var expected = TinyRun.Metrics(one);
        var actual = TinyRun.Metrics(two);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        double worst = 0;
        foreach (var (step, e) in expected)
        {
            var a = actual[step];
            Assert.Equal(0, e.CenterNorm);   // no center is kept with Sinkhorn-Knopp targets
            foreach (var (name, x, y) in new[]
            {
                ("total_loss", e.TotalLoss, a.TotalLoss), ("dino_local_loss", e.DinoLocalLoss, a.DinoLocalLoss),
                ("dino_global_loss", e.DinoGlobalLoss, a.DinoGlobalLoss), ("ibot_loss", e.IbotLoss, a.IbotLoss),
                ("grad_norm", e.GradNorm, a.GradNorm), ("teacher_entropy", e.TeacherEntropy, a.TeacherEntropy),
            })
                worst = Math.Max(worst, AssertClose(x, y, $"step {step} {name}"));
        }
        output.WriteLine($"largest relative difference, 2 ranks against 1 (Sinkhorn-Knopp): {worst:E2}");
    }

    /// <summary>The DINO and iBOT centers of a training checkpoint.</summary>
    static Dictionary<string, Tensor> Centers(string checkpoint) =>
        SafetensorsFile.Load(Path.Combine(checkpoint, "model.safetensors")).Where(kv => kv.Key.StartsWith("objective.", StringComparison.Ordinal))
            .ToDictionary();

    static double AssertClose(double expected, double actual, string what)
    {
        double rel = Math.Abs(expected - actual) / Math.Max(Math.Abs(expected), 1e-12);
        Assert.True(rel <= Tolerance, $"{what}: 1 rank {expected:R}, 2 ranks {actual:R} (relative difference {rel:E2})");
        return rel;
    }

    /// <summary>max |a − b| relative to max |a|, over the tensor.</summary>
    static double AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = Math.Max(expected.abs().max().item<float>(), 1e-12);
        double rel = (expected - actual).abs().max().item<float>() / scale;
        Assert.True(rel <= Tolerance, $"{what}: largest difference {rel:E2} of the largest value between 1 and 2 ranks");
        return rel;
    }
}
