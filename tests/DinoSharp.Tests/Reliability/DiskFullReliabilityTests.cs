using System.Diagnostics;
using DinoSharp.Eval;
using DinoSharp.Tests.Data;
using DinoSharp.Training;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// A full disk at every write site, on a real (tmpfs) file system: one line naming the path and the space needed,
/// exit 1, nothing written earlier lost, no partial file under a complete-looking name, and the run continues exactly
/// once space is back.
/// </summary>
public sealed class DiskFullReliabilityTests(ITestOutputHelper output)
{
    static string OneErrorLine(string stderr, string path)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("[test]", StringComparison.Ordinal)).ToArray();
        var line = Assert.Single(lines);
        Assert.StartsWith($"dino: {path}: the disk is full (", line);
        Assert.Contains(" needed): free at least ", line);
        return line;
    }

    static void AssertNoTemporaryFiles(string folder) =>
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories),
            p => p.Contains(".tmp", StringComparison.Ordinal) || p.Contains(".dino-tmp", StringComparison.Ordinal));

    /// <summary>Trains until the checkpoint write at <paramref name="pauseAt"/> pauses, fills the disk, lets it fail.</summary>
    (int Code, string Stderr) TrainIntoAFullDisk(SmallDisk disk, string dir, string pauseAt)
    {
        var env = new Dictionary<string, string> { [CheckpointStore.TestPauseVariable] = pauseAt + ":3000" };
        using var run = DinoCli.Start(TinyRun.Args(dir, false, "--set", "train.knn_every=0"), env);
        Assert.True(run.WaitForStderr("[test] checkpoint write at", TimeSpan.FromSeconds(120)), run.Stderr);
        disk.Fill();
        int code = run.WaitForExit(TimeSpan.FromSeconds(120));
        output.WriteLine(run.Stderr);
        return (code, run.Stderr);
    }

    (int Code, string Stderr) Resume(SmallDisk disk, string dir)
    {
        disk.Free();
        var (code, _, stderr) = DinoCli.Run(TinyRun.Args(dir, true, "--set", "train.knn_every=0"), TimeSpan.FromSeconds(180));
        Assert.True(code == 0, stderr);
        return (code, stderr);
    }

    [SkippableFact]
    public void ACheckpointWriteThatFillsTheDiskFailsCleanlyAndResumeContinuesExactly()
    {
        using var disk = SmallDisk.Mount(48L << 20);
        string dir = Path.Combine(disk.Folder, "run");
        var (code, stderr) = TrainIntoAFullDisk(disk, dir, "started:6");
        Assert.Equal(1, code);
        OneErrorLine(stderr, Path.Combine(dir, "checkpoints", "step_00000006"));
        var store = new CheckpointStore(Path.Combine(dir, "checkpoints"), int.MaxValue);
        Assert.Equal(["step_00000003"], store.FinalFolders().Select(Path.GetFileName));
        Assert.NotNull(CheckpointStore.Verify(Path.Combine(dir, "checkpoints", "step_00000003")));
        AssertNoTemporaryFiles(dir);

        Resume(disk, dir);
        double worst = TinyRun.AssertSameLosses(dir);
        Assert.Equal(File.ReadAllBytes(Path.Combine(TinyRun.Baseline, "teacher_backbone.safetensors")), File.ReadAllBytes(Path.Combine(dir, "teacher_backbone.safetensors")));
        ReliabilityFigures.Fault(nameof(DiskFullReliabilityTests), "disk full: checkpoint", 1, 1, 0, $"step 6 refused, resumed from step 3; loss difference {worst:G2}, teacher bit-identical");
    }

    [SkippableFact]
    public void AMetricsLineThatDoesNotFitIsCutOffAndNamesTheFile()
    {
        // In-process on the real small disk: the file's last page has slack, so lines are written until it is used up.
        using var disk = SmallDisk.Mount(1L << 20);
        string path = Path.Combine(disk.Folder, "metrics.jsonl");
        using (var first = new MetricsLog(path, append: false)) first.Write(new StepMetrics { Step = 1, TotalLoss = 1.5 });
        disk.Fill();
        int written = 1;
        DinoSharp.IO.DiskFullException? error = null;
        using (var log = new MetricsLog(path, append: true))
        {
            for (int step = 2; step < 10_000 && error is null; step++)
            {
                try { log.Write(new StepMetrics { Step = step, TotalLoss = 1.0 / step, Lr = 1e-4 }); written++; }
                catch (DinoSharp.IO.DiskFullException e) { error = e; }
            }
        }
        Assert.NotNull(error);
        Assert.StartsWith($"{path}: the disk is full (", error.Message);
        Assert.EndsWith("}\n", File.ReadAllText(path), StringComparison.Ordinal);   // the partial line was cut off
        var lines = MetricsLog.Read(path);
        Assert.Equal(written, lines.Count);
        Assert.Equal(Enumerable.Range(1, written).Select(i => (long)i), lines.Select(m => m.Step));
        ReliabilityFigures.Fault(nameof(DiskFullReliabilityTests), "disk full: metrics.jsonl", 1, 0, 0, $"line {written + 1} refused and cut off; {written} complete lines kept");
    }

    [SkippableFact]
    public void AnEmbeddingThatFillsTheDiskKeepsItsChunksAndContinuesOnceThereIsSpace()
    {
        using var disk = SmallDisk.Mount(1L << 20);
        using var files = new TestImages();
        for (int i = 0; i < 24; i++) files.Write($"photos/img{i:D2}.png", TestImages.Png(TestImages.Pattern(32, 32, seed: 400 + i)));
        string store = Path.Combine(disk.Folder, "stores", "s");
        string[] args = ["embed", "--model", "random:vit_pico_p4", "--data", files.PathOf("photos"), "--out", store, "--batch-size", "2", "--chunk", "1", "--quiet"];
        Directory.CreateDirectory(Path.GetDirectoryName(store)!);
        disk.Fill(leave: 20 << 10);   // room for a few chunks, not for all of them and the store
        var (code, _, stderr) = DinoCli.Run(args);
        output.WriteLine(stderr);
        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"dino: {store}", line);
        Assert.Contains(": the disk is full (", line);
        Assert.False(File.Exists(store + ".safetensors"));
        Assert.False(File.Exists(store + ".json"));
        AssertNoTemporaryFiles(disk.Folder);
        int kept = Directory.Exists(EmbeddingChunkFolder.FolderOf(store)) ? Directory.GetDirectories(EmbeddingChunkFolder.FolderOf(store), "chunk-*").Length : 0;

        disk.Free();
        var again = DinoCli.Run(args);
        Assert.True(again.ExitCode == 0, again.Stderr);
        using var opened = EmbeddingStore.Open(store);
        Assert.Equal(24, opened.Count);
        ReliabilityFigures.Fault(nameof(DiskFullReliabilityTests), "disk full: embedding store", 1, 1, 0, $"{kept} of 12 chunks kept, the rest embedded after space was freed");
    }

    [SkippableTheory]
    [InlineData("report"), InlineData("export onnx"), InlineData("convert"), InlineData("embed merge")]
    public void OutputsThatDoNotFitFailInOneLineAndLeaveNoPartialFile(string verb)
    {
        using var disk = SmallDisk.Mount(4L << 20);
        string run = TinyRun.Baseline, weights = Path.Combine(run, "teacher_backbone.safetensors");
        string target;
        string[] args;
        switch (verb)
        {
            case "report":
                target = Path.Combine(disk.Folder, "report.html");
                args = ["report", run, "--out", target];
                break;
            case "export onnx":
                target = Path.Combine(disk.Folder, "model.onnx");
                args = ["export", "onnx", "--model", run, "--out", target, "--quiet"];
                break;
            case "convert":
                target = Path.Combine(disk.Folder, "converted");
                args = ["convert", "--in", weights, "--to", "hf", "--out", target, "--quiet"];
                break;
            default:
                target = Path.Combine(disk.Folder, "merged");
                using (var files = new TestImages())
                {
                    for (int i = 0; i < 6; i++) files.Write($"p/img{i}.png", TestImages.Png(TestImages.Pattern(24, 24, seed: i)));
                    for (int i = 0; i < 2; i++)
                    {
                        var made = DinoCli.Run(["embed", "--model", "random:vit_pico_p4", "--data", files.PathOf("p"), "--out", target, "--shard", $"{i}/2", "--quiet"]);
                        Assert.True(made.ExitCode == 0, made.Stderr);
                    }
                }
                args = ["embed", "merge", "--out", target];
                break;
        }
        var before = Directory.GetFileSystemEntries(disk.Folder, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith(".lock", StringComparison.Ordinal)).Order().ToArray();
        disk.Fill(leave: 0);
        var clock = Stopwatch.StartNew();
        var (code, _, stderr) = DinoCli.Run(args, TimeSpan.FromSeconds(180));
        output.WriteLine($"{clock.Elapsed}: {stderr}");
        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"dino: {target}", line);
        Assert.Contains(": the disk is full (", line);
        disk.Free();
        // Nothing new under any name: no partial output, no staging folder (an empty writer-lock file may stay: see WriterLock).
        Assert.Equal(before, Directory.GetFileSystemEntries(disk.Folder, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith(".lock", StringComparison.Ordinal)).Order().ToArray());
        ReliabilityFigures.Fault(nameof(DiskFullReliabilityTests), "disk full: " + verb, 1, 0, 0, "refused in one line; no file left behind");
    }
}
