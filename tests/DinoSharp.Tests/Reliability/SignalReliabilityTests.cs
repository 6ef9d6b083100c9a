using System.Diagnostics;
using DinoSharp.Training;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Reliability;

/// <summary>SIGTERM finishes the step, writes a checkpoint, exits 0 with the resume command; the resumed run is exact.</summary>
[Collection(ReliabilityCollection.Name)]
public sealed class SignalReliabilityTests(ITestOutputHelper output)
{
    [Fact]
    public void SigtermCheckpointsExitsZeroAndTheResumedRunMatchesAnUninterruptedOne()
    {
        string baseline = TinyRun.Baseline;
        string dir = TinyRun.NewFolder("sigterm");
        using (var cli = DinoCli.Start(TinyRun.Args(dir)))
        {
            // Signal in the middle of the run, once a few steps are logged.
            var clock = Stopwatch.StartNew();
            string metrics = Path.Combine(dir, "metrics.jsonl");
            while (!(File.Exists(metrics) && LoggedSteps(metrics) >= 4))
            {
                Assert.False(cli.HasExited, "the run ended before it could be signalled: " + cli.Stderr);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "no progress: " + cli.Stderr);
                Thread.Sleep(10);
            }
            cli.Signal(DinoCli.SIGTERM);
            int code = cli.WaitForExit(TimeSpan.FromSeconds(60));
            output.WriteLine(cli.Stdout);
            output.WriteLine(cli.Stderr);
            Assert.Equal(0, code);
            Assert.Contains("Interrupted at step", cli.Stdout);
            Assert.Contains($"--out {dir} --resume", cli.Stdout);
            Assert.DoesNotContain("   at ", cli.Stderr);
        }
        var latest = new CheckpointStore(Path.Combine(dir, "checkpoints"), 2).Latest();
        Assert.NotNull(latest);
        long stoppedAt = latest.Value.State.Step;
        Assert.InRange(stoppedAt, 4, TinyRun.Steps - 1);
        Assert.False(File.Exists(Path.Combine(dir, "teacher_backbone.safetensors")), "an interrupted run exports no teacher");

        var (resumed, stdout, stderr) = DinoCli.Run(TinyRun.Args(dir, resume: true));
        Assert.True(resumed == 0, stdout + stderr);
        double worst = TinyRun.AssertSameLosses(dir);
        TinyRun.AssertSameTeacher(dir);
        Assert.Empty(TinyRun.TempFolders(dir));
        output.WriteLine($"Stopped by SIGTERM at step {stoppedAt}; resumed to {TinyRun.Steps}. Largest relative loss difference {worst:G3}; teacher weights bit-identical to {baseline}.");
    }

    [Fact]
    public void ResumingWithAnotherArchitectureIsRefusedNamingTheKey()
    {
        string dir = TinyRun.NewFolder("arch");
        var first = TinyRun.Args(dir);
        first[first.IndexOf("--steps") + 1] = "3";
        var (code, _, stderr) = DinoCli.Run(first);
        Assert.True(code == 0, stderr);
        var args = TinyRun.Args(dir, resume: true, "--set", "student.arch=vit_tiny_p7");
        (code, _, stderr) = DinoCli.Run(args);
        output.WriteLine(stderr);
        Assert.Equal(1, code);
        Assert.Contains("student.arch: \"vit_pico_p7\" → \"vit_tiny_p7\"", stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    static long LoggedSteps(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(fs);
            return reader.ReadToEnd().Split('\n').Count(l => l.StartsWith("{\"step\":", StringComparison.Ordinal)) - 1;
        }
        catch (IOException) { return 0; }
    }
}

/// <summary>
/// Tests that start `dino` child processes or train in this process run one at a time, and with no other test class
/// beside them: the machine has two cores, and training in this process reseeds and draws from libtorch's global
/// generator, which a parallel test drawing from it would disturb (an exact-resume comparison failed that way once).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Reliability: dino child processes";
}
