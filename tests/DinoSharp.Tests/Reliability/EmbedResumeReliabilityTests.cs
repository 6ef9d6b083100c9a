using System.Diagnostics;
using System.Text.Json.Nodes;
using DinoSharp.Eval;
using DinoSharp.Tests.Data;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// `dino embed` killed with SIGKILL at three random moments and started again with the same command continues from the
/// last complete chunk; the store it finally writes is byte-identical to an uninterrupted run's (sidecar equal apart
/// from its creation time).
/// </summary>
public sealed class EmbedResumeReliabilityTests(ITestOutputHelper output)
{
    const int Images = 40;

    [Fact]
    public void KilledThreeTimesAndRunAgainTheStoreIsByteIdentical()
    {
        using var files = new TestImages();
        for (int i = 0; i < Images; i++)
            files.Write($"photos/img{i:D3}.png", TestImages.Png(TestImages.Pattern(48, 40 + i % 5, seed: 300 + i)));
        files.Write("photos/img017x.png", HostileFolder.Bomb(60_000, 60_000));   // a skipped image inside one chunk
        string[] Args(string store) =>
            ["embed", "--model", "random:vit_pico_p4", "--features", "avgpatch", "--image-size", "64", "--data", files.PathOf("photos"),
             "--out", store, "--batch-size", "2", "--chunk", "1", "--threads", "1", "--quiet"];

        string whole = files.PathOf("stores/whole"), killed = files.PathOf("stores/killed");
        var uninterrupted = DinoCli.Run(Args(whole), TimeSpan.FromSeconds(180));
        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.Stderr);
        Assert.False(Directory.Exists(EmbeddingChunkFolder.FolderOf(whole)));   // removed once the store is saved

        // Three kills, each after a random number of complete chunks (increasing: every run must make progress) and a
        // random extra delay, so a kill can land anywhere in a chunk's write.
        var rng = new Random(2126);
        int chunksTotal = (Images + 1 + 1) / 2;
        var at = Enumerable.Range(0, 3).Select(i => rng.Next(1 + i * chunksTotal / 3, (i + 1) * chunksTotal / 3)).ToArray();
        string partial = EmbeddingChunkFolder.FolderOf(killed);
        int resumedRuns = 0;
        foreach (int chunks in at)
        {
            using var run = DinoCli.Start(Args(killed));
            var clock = Stopwatch.StartNew();
            while (Done(partial) < chunks && !run.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(1);
            Thread.Sleep(rng.Next(0, 30));
            Assert.False(run.HasExited, $"the run ended before the kill after {chunks} chunks: {run.Stderr}");
            run.Signal(DinoCli.SIGKILL);
            run.WaitForExit(TimeSpan.FromSeconds(30));
            int done = Done(partial);
            output.WriteLine($"killed after >= {chunks} chunks: {done} complete on disk");
            Assert.True(done >= chunks);
            Assert.False(File.Exists(killed + ".safetensors"));   // nothing under the store's name before it is complete
            if (resumedRuns++ > 0) Assert.True(done > 0);
        }

        var last = DinoCli.Run(Args(killed), TimeSpan.FromSeconds(180));
        output.WriteLine(last.Stderr);
        Assert.True(last.ExitCode == 0, last.Stderr);
        Assert.Contains("taking over a stale writer lock", last.Stderr);   // the killed run's lock
        Assert.Equal(File.ReadAllBytes(whole + ".safetensors"), File.ReadAllBytes(killed + ".safetensors"));
        var a = JsonNode.Parse(File.ReadAllText(whole + ".json"))!.AsObject();
        var b = JsonNode.Parse(File.ReadAllText(killed + ".json"))!.AsObject();
        a.Remove("createdUtc");
        b.Remove("createdUtc");
        Assert.Equal(a.ToJsonString().Replace("/whole", "/STORE"), b.ToJsonString().Replace("/killed", "/STORE"));
        using (var store = EmbeddingStore.Open(killed)) Assert.Equal(Images, store.Count);
        Assert.False(Directory.Exists(partial));
        ReliabilityFigures.Fault(nameof(EmbedResumeReliabilityTests), "SIGKILL during dino embed", at.Length, at.Length, 0,
            $"{Images + 1} images in {chunksTotal} chunks, killed after {string.Join("/", at)} chunks; store byte-identical");
    }

    static int Done(string partial) =>
        Directory.Exists(partial) ? Directory.GetDirectories(partial, "chunk-*").Length : 0;
}
