using DinoSharp.Tests.Data;
using DinoSharp.Tests.Reliability;
using DinoSharp.Training;

namespace DinoSharp.Tests.Cli;

/// <summary>Resume that does what it says: the run's own config, its planned length, and nothing left behind by a refused run.</summary>
[Collection(DinoSharp.Tests.Reliability.ReliabilityCollection.Name)]
public sealed class CliResumeTests : IDisposable
{
    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    static string CopyOfBaseline(string tag)
    {
        string dir = TinyRun.NewFolder(tag);
        foreach (var source in Directory.EnumerateFiles(TinyRun.Baseline, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dir, Path.GetRelativePath(TinyRun.Baseline, source));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target);
        }
        return dir;
    }

    static string OneErrorLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return Assert.Single(lines, l => l.StartsWith("dino: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Resume_takes_the_config_from_the_run_folder_and_continues_the_same_run()
    {
        string dir = CopyOfBaseline("resume-bare");
        // Back to the checkpoint of step 9 of 12: the run was interrupted there.
        foreach (var ckpt in Directory.GetDirectories(Path.Combine(dir, "checkpoints"), "step_*").Where(d => !d.EndsWith("step_00000009", StringComparison.Ordinal)))
            Directory.Delete(ckpt, recursive: true);
        File.Delete(Path.Combine(dir, "teacher_backbone.safetensors"));
        File.Delete(Path.Combine(dir, "model.json"));

        // No --config, --set or --data: they come from the run folder.
        var (code, stdout, stderr) = DinoCli.Run(["train", "--out", dir, "--resume", "--threads", "1", "--quiet"]);
        Assert.True(code == 0, stdout + stderr);
        TinyRun.AssertSameLosses(dir);
        TinyRun.AssertSameTeacher(dir);
    }

    [Fact]
    public void Extending_a_finished_run_is_refused_with_the_command_for_a_longer_run()
    {
        string dir = CopyOfBaseline("resume-extend");
        var before = File.ReadAllText(Path.Combine(dir, "metrics.jsonl"));
        var (code, stdout, stderr) = DinoCli.Run(["train", "--out", dir, "--resume", "--steps", "24", "--quiet"]);
        Assert.Equal(1, code);
        string line = OneErrorLine(stderr);
        Assert.Contains($"was planned for {TinyRun.Steps} steps", line);
        Assert.Contains("schedules end at step 12", line);
        Assert.Contains($"dino train --config {Path.Combine(dir, "config.json")} --steps 24 --out {dir}-24steps", line);
        Assert.Equal(before, File.ReadAllText(Path.Combine(dir, "metrics.jsonl")));

        // Without --steps: the run is finished, and says so rather than "training" zero steps.
        (code, stdout, stderr) = DinoCli.Run(["train", "--out", dir, "--resume", "--quiet"]);
        Assert.True(code == 0, stderr);
        Assert.Contains($"already finished its {TinyRun.Steps} steps", stdout);
        Assert.Equal(before, File.ReadAllText(Path.Combine(dir, "metrics.jsonl")));
    }

    [Fact]
    public void A_run_refused_at_validation_leaves_nothing_and_names_the_batch_size_that_fits()
    {
        for (int i = 0; i < 5; i++) files.Write($"few/img{i}.png", TestImages.Png(TestImages.Pattern(32, 32, seed: i)));
        string run = Path.Combine(files.Folder, "runs", "refused");
        var result = CliCommandTests.Dino("train", "--data", "folder:" + files.PathOf("few"), "--out", run, "--steps", "2", "--quiet");
        CliParsingTests.AssertOneLineUserError(result, "is larger than the dataset");
        Assert.Contains("(5 images): use --set train.batch_size=4", result.Error);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void A_run_without_a_length_is_asked_for_one()
    {
        string run = Path.Combine(files.Folder, "runs", "endless");
        var result = CliCommandTests.Dino("train", "--out", run);
        CliParsingTests.AssertOneLineUserError(result, "give the run a length: --minutes M");
        Assert.Contains("125,000 steps", result.Error);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void The_planned_length_is_read_from_the_run_folder()
    {
        Assert.Equal(TinyRun.Steps, DinoTrainer.PlannedSteps(TinyRun.Baseline));
        Assert.Null(DinoTrainer.PlannedSteps(files.Folder));
    }
}
