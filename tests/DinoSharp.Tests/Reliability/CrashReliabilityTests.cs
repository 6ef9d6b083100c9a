using DinoSharp.Training;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// SIGKILL while a checkpoint is being written, at each stage of the write and at random moments inside it: no folder
/// under a final checkpoint name is ever incomplete, the resumed run completes, cleans the temporary folders, and its
/// losses and final teacher weights equal those of the uninterrupted run.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class CrashReliabilityTests(ITestOutputHelper output)
{
    const long KilledStep = 6;

    public static TheoryData<string, int> KillPoints => new()
    {
        // Stage of CheckpointStore.Write the child pauses at (it prints a line, then sleeps until killed).
        { "started", -1 },   // temporary folder created, no file written
        { "written", -1 },   // tensors and optimiser state written, not hashed
        { "hashed", -1 },    // state.json written, not flushed nor renamed
        { "renamed", -1 },   // renamed into place, older checkpoints not yet pruned
        // No pause: killed 0–40 ms (seeded) after the write started, wherever that lands.
        { "started", 1 },
        { "started", 2 },
    };

    [Theory]
    [MemberData(nameof(KillPoints))]
    public void KilledWhileWritingACheckpointResumesExactly(string point, int randomSeed)
    {
        _ = TinyRun.Baseline;
        string dir = TinyRun.NewFolder("sigkill");
        string pause = randomSeed < 0 ? $"{point}:{KilledStep}" : $"{point}:{KilledStep}:0";
        using (var cli = DinoCli.Start(TinyRun.Args(dir), new Dictionary<string, string> { [CheckpointStore.TestPauseVariable] = pause }))
        {
            Assert.True(cli.WaitForStderr($"checkpoint write at {point}, step {KilledStep}", TimeSpan.FromSeconds(90)), "never reached the kill point: " + cli.Stderr);
            if (randomSeed >= 0) Thread.Sleep(new Random(randomSeed).Next(0, 40));
            cli.Signal(DinoCli.SIGKILL);
            cli.WaitForExit(TimeSpan.FromSeconds(30));
        }
        var store = new CheckpointStore(Path.Combine(dir, "checkpoints"), 2);
        var finals = store.FinalFolders().Select(Path.GetFileName).ToList();
        var temps = TinyRun.TempFolders(dir).Select(Path.GetFileName).ToList();
        output.WriteLine($"killed at {point}{(randomSeed < 0 ? "" : $" + random delay (seed {randomSeed})")}: final [{string.Join(", ", finals)}], temporary [{string.Join(", ", temps)}]");
        TinyRun.AssertOnlyCompleteCheckpoints(dir);
        if (randomSeed < 0)
        {
            bool renamed = point == "renamed";
            Assert.Equal(renamed, finals.Contains($"step_{KilledStep:D8}"));
            if (!renamed) Assert.NotEmpty(temps);   // the kill landed mid-write, leaving only a temporary folder
        }

        var (code, stdout, stderr) = DinoCli.Run(TinyRun.Args(dir, resume: true));
        Assert.True(code == 0, stdout + stderr);
        Assert.Empty(TinyRun.TempFolders(dir));
        TinyRun.AssertOnlyCompleteCheckpoints(dir);
        double worst = TinyRun.AssertSameLosses(dir);
        TinyRun.AssertSameTeacher(dir);
        output.WriteLine($"resumed: largest relative loss difference {worst:G3}, teacher weights bit-identical");
    }
}
