using System.Diagnostics;
using DinoSharp.IO;
using DinoSharp.Tests.Data;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Reliability;

/// <summary>One writer per folder: a second writer is refused naming the holder; a lock left by a killed process is taken over with a warning; readers take no lock.</summary>
public sealed class WriterLockReliabilityTests(ITestOutputHelper output)
{
    [Fact]
    public void ASecondWriterIsRefusedNamingTheHolderAndTheLockIsFreeAfterRelease()
    {
        using var files = new TestImages();
        string store = files.PathOf("stores/s");
        var warnings = new List<string>();
        using (var first = WriterLock.ForStore(store, "--out", warnings.Add))
        {
            var refused = Assert.Throws<WriterLockException>(() => WriterLock.ForStore(store, "--out", warnings.Add));
            Assert.Equal($"{store}: another process is writing this embedding store ({first.Holder}); wait for it or use another --out.", refused.Message);
            Assert.StartsWith($"PID {Environment.ProcessId} on {Environment.MachineName}, started ", first.Holder);
        }
        using (WriterLock.ForStore(store, "--out", warnings.Add)) { }
        Assert.Empty(warnings);   // a clean release leaves no owner note, so nothing looks stale
        Assert.False(File.Exists(store + ".lock" + WriterLock.OwnerExtension));
    }

    [Fact]
    public void AnOwnerNoteWithoutALockIsStaleAndTakenOverWithAWarning()
    {
        using var files = new TestImages();
        string run = files.PathOf("run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, ".lock.owner"), "PID 999999 on elsewhere, started 2026-01-01 00:00:00 UTC");
        var warnings = new List<string>();
        using var taken = WriterLock.ForRunFolder(run, warnings.Add);
        Assert.Equal($"{run}: taking over a stale writer lock (PID 999999 on elsewhere, started 2026-01-01 00:00:00 UTC; that process is gone).", Assert.Single(warnings));
        Assert.Equal(taken.Holder, File.ReadAllText(Path.Combine(run, ".lock.owner")));
    }

    [Fact]
    public void ASecondTrainOnTheSameOutIsRefusedAndAKilledTrainsLockIsTakenOver()
    {
        string dir = TinyRun.NewFolder("locked-run");
        var args = TinyRun.Args(dir, false, "--set", "train.knn_every=0", "--set", "train.checkpoint_every=1");
        using var first = DinoCli.Start(args);
        string owner = Path.Combine(dir, ".lock.owner");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(dir, "metrics.jsonl")) && !first.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(20);
        Assert.False(first.HasExited, "the first run ended before the second started: " + first.Stderr);
        string holder = File.ReadAllText(owner);
        Assert.StartsWith($"PID {first.Pid} on ", holder);

        var (code, _, stderr) = DinoCli.Run(args);
        output.WriteLine(stderr);
        Assert.Equal(1, code);
        Assert.Equal($"dino: {dir}: another process is training into this folder ({holder}); wait for it to finish or choose another --out.",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        first.Signal(DinoCli.SIGKILL);
        first.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.True(File.Exists(owner));   // the killed process could not remove its note
        var resumed = DinoCli.Run(TinyRun.Args(dir, true, "--set", "train.knn_every=0", "--set", "train.checkpoint_every=1"), TimeSpan.FromSeconds(180));
        output.WriteLine(resumed.Stderr);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains($"warning: {dir}: taking over a stale writer lock ({holder}; that process is gone).", resumed.Stderr);
        Assert.False(File.Exists(owner));
        ReliabilityFigures.Fault(nameof(WriterLockReliabilityTests), "second dino train; holder SIGKILLed", 2, 1, 0, "second writer refused naming PID, host, start; stale lock taken over on --resume");
    }

    [Fact]
    public void ASecondEmbedIntoTheSameStoreIsRefusedWhileReadersStillRead()
    {
        using var files = new TestImages();
        for (int i = 0; i < 4; i++) files.Write($"photos/img{i}.png", TestImages.Png(TestImages.Pattern(24, 24, seed: i)));
        string store = files.PathOf("stores/s");
        var made = DinoCli.Run(["embed", "--model", "random:vit_pico_p4", "--data", files.PathOf("photos"), "--out", store, "--quiet"]);
        Assert.True(made.ExitCode == 0, made.Stderr);
        using (var held = WriterLock.ForStore(store))
        {
            var (code, _, stderr) = DinoCli.Run(["embed", "--model", "random:vit_pico_p4", "--data", files.PathOf("photos"), "--out", store, "--append", "--quiet"]);
            Assert.Equal(1, code);
            Assert.Equal($"dino: {store}: another process is writing this embedding store ({held.Holder}); wait for it or use another --out.",
                Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            // A reader takes no lock: search works while a writer holds the store.
            var search = DinoCli.Run(["search", "--store", store, "--query", files.PathOf("photos/img1.png"), "--top", "1", "--quiet"]);
            Assert.True(search.ExitCode == 0, search.Stderr);
        }
        ReliabilityFigures.Fault(nameof(WriterLockReliabilityTests), "second dino embed into a held store", 1, 0, 0, "refused naming the holder; a reader (search) still reads");
    }
}
