using System.Text.RegularExpressions;
using DinoSharp.Interop;
using DinoSharp.Training;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Reliability;

/// <summary>Bad configurations and divergence stop `dino train` with one line naming the key or the step, exit code 1.</summary>
[Collection(ReliabilityCollection.Name)]
public sealed class GuardReliabilityTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> BadSettings => new()
    {
        { "crops.local_crops_size=35", "crops.local_crops_size: 35 must not exceed global_crops_size 28" },
        { "crops.global_crops_size=30", "crops.global_crops_size: 30 must be a positive multiple of the patch size 7" },
        { "crops.local_crops_number=-1", "crops.local_crops_number: -1 must be ≥ 0" },
        { "crops.flip_probability=-0.1", "crops.flip_probability: probability -0.1 must be in [0, 1]" },
        { "ibot.mask_sample_probability=1.5", "ibot.mask_sample_probability = 1.5: must be in [0, 1]" },
        { "train.collapse_entropy_fraction=2", "train.collapse_entropy_fraction = 2: must be in [0, 1]" },
        { "teacher.momentum_teacher=1.5", "teacher.momentum_teacher = 1.5: must be in [0, 1]" },
        { "dino.head_n_prototypes=0", "dino.head_n_prototypes = 0: must be at least 1" },
        { "train.keep_checkpoints=0", "train.keep_checkpoints = 0: must be at least 1" },
        { "train.bach_size=3", "unknown config key 'train.bach_size'. Did you mean 'train.batch_size'?" },
        { "train.batch_size=1000", "train.batch_size = 1000 is larger than the dataset" },
        { "student.arch=vit_pico", "student.arch = 'vit_pico': Unknown architecture 'vit_pico'" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void AnInvalidSettingIsOneLineNamingTheKeyAndNothingIsTrained(string setting, string message)
    {
        string dir = TinyRun.NewFolder("config");
        var (code, stdout, stderr) = DinoCli.Run(TinyRun.Args(dir, false, "--set", setting));
        output.WriteLine(stderr);
        Assert.Equal(1, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("dino: ", lines[0]);
        Assert.Contains(message, lines[0]);
        Assert.DoesNotContain("Trained", stdout);
        Assert.False(Directory.Exists(Path.Combine(dir, "checkpoints")) && Directory.EnumerateFileSystemEntries(Path.Combine(dir, "checkpoints")).Any());
    }

    [Fact]
    public void ADivergingRunStopsNamingTheStepAndTheTermsAndKeepsAFiniteCheckpoint()
    {
        string dir = TinyRun.NewFolder("diverge");
        var args = TinyRun.Args(dir, false, "--set", "optim.base_lr=1e30", "--set", "train.checkpoint_every=1", "--set", "train.knn_every=0");
        var (code, _, stderr) = DinoCli.Run(args);
        output.WriteLine(stderr);
        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var m = Regex.Match(line, @"Step (\d+): (the loss is not finite \((?<terms>[^)]*)\)|.* is not finite; no checkpoint was written)");
        Assert.True(m.Success, line);
        if (m.Groups["terms"].Success) Assert.Matches(@"(dino_local|dino_global|koleo|ibot) = (NaN|∞|-∞|Infinity)", m.Groups["terms"].Value);
        Assert.Contains("optim.base_lr", line);

        var kept = Regex.Match(line, @"The last good checkpoint is (\S+)\.$");
        Assert.True(kept.Success, line);
        Assert.NotNull(CheckpointStore.Verify(kept.Groups[1].Value));
        foreach (var (key, t) in SafetensorsFile.Load(Path.Combine(kept.Groups[1].Value, "model.safetensors")))
            Assert.True(t.isfinite().all().item<bool>(), $"{key} in the kept checkpoint is not finite");
        Assert.False(File.Exists(Path.Combine(dir, "teacher_backbone.safetensors")));
    }
    [Fact]
    public void ACollapsingTeacherIsWarnedAboutAndStopsTheRunAfterThePatience()
    {
        // Every teacher distribution has entropy below log K, so a threshold of 100 % of log K marks every logged step.
        string dir = TinyRun.NewFolder("collapse");
        var args = TinyRun.Args(dir, false, "--set", "train.collapse_entropy_fraction=1", "--set", "train.collapse_patience=3",
            "--set", "train.knn_every=0");
        var (code, stdout, stderr) = DinoCli.Run(args);
        output.WriteLine(stderr);
        Assert.Equal(1, code);
        var warnings = stderr.Split('\n').Where(l => l.StartsWith("warning: Step ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("the representation may be collapsing", w));
        Assert.Contains("Stopped at step 3: the teacher output collapsed", stderr);
        Assert.DoesNotContain("Trained", stdout);
        Assert.True(File.Exists(Path.Combine(dir, "teacher_backbone.safetensors")), "the teacher is exported for inspection");
        Assert.Contains("may have collapsed", File.ReadAllText(DinoSharp.Visualize.RunReport.Write(dir)));
    }

    [Fact]
    public void TrainingIntoAFolderThatHoldsCheckpointsWithoutResumeIsRefusedAndChangesNothing()
    {
        string dir = TinyRun.NewFolder("occupied");
        var first = DinoCli.Run(TinyRun.Args(dir, false, "--set", "train.knn_every=0"));
        Assert.Equal(0, first.ExitCode);
        var before = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var (code, _, stderr) = DinoCli.Run(TinyRun.Args(dir, false, "--set", "train.knn_every=0"));
        output.WriteLine(stderr);
        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("already holds checkpoints. Continue it with --resume, or choose another --out.", line);
        var after = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        Assert.Equal(before, after);
    }
}
