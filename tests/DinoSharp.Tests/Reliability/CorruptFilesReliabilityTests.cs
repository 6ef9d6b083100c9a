using System.Text.Json.Nodes;
using DinoSharp.Tests.Data;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Reliability;

/// <summary>Corrupt stores and run folders: each a one-line error naming the file, or a warning where the data are recoverable.</summary>
public sealed class CorruptFilesReliabilityTests(ITestOutputHelper output) : IDisposable
{
    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    string MakeStore()
    {
        for (int i = 0; i < 4; i++) files.Write($"photos/img{i}.png", TestImages.Png(TestImages.Pattern(24, 24, seed: 50 + i)));
        string store = files.PathOf("stores/s");
        var made = DinoCli.Run(["embed", "--model", "random:vit_pico_p4", "--data", files.PathOf("photos"), "--out", store, "--quiet"]);
        Assert.True(made.ExitCode == 0, made.Stderr);
        return store;
    }

    string OneLineError(params string[] args)
    {
        var (code, _, stderr) = DinoCli.Run(args);
        output.WriteLine(stderr);
        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("dino: ", line);
        Assert.DoesNotContain("internal error", line);
        return line;
    }

    string Search(string store) => OneLineError("search", "--store", store, "--query", files.PathOf("photos/img0.png"), "--top", "1", "--quiet");

    [Fact]
    public void ATruncatedStoreIsOneLineNamingIt()
    {
        string store = MakeStore();
        byte[] bytes = File.ReadAllBytes(store + ".safetensors");
        File.WriteAllBytes(store + ".safetensors", bytes[..(bytes.Length / 2)]);
        var line = Search(store);
        Assert.Contains($"Embedding store '{store}'", line);
        Assert.Contains("the file is truncated or the pair comes from different saves", line);
        ReliabilityFigures.Fault(nameof(CorruptFilesReliabilityTests), "truncated store", 1, 0, 0, "one-line error naming the store");
    }

    [Fact]
    public void ASidecarWhoseRowCountDisagreesIsOneLine()
    {
        string store = MakeStore();
        var json = JsonNode.Parse(File.ReadAllText(store + ".json"))!;
        json["rows"] = 5;
        File.WriteAllText(store + ".json", json.ToJsonString());
        var line = Search(store);
        Assert.Contains($"Embedding store '{store}': sidecar is incomplete", line);
        Assert.Contains("item count differs from rows = 5", line);
        ReliabilityFigures.Fault(nameof(CorruptFilesReliabilityTests), "sidecar row count disagrees", 1, 0, 0, "one-line error naming the store");
    }

    [Fact]
    public void ASidecarWhoseModelIdentityDisagreesWithTheTensorFileIsOneLine()
    {
        string store = MakeStore();
        var json = JsonNode.Parse(File.ReadAllText(store + ".json"))!;
        json["identity"]!["featureKind"] = "avgpatch";
        File.WriteAllText(store + ".json", json.ToJsonString());
        var line = OneLineError("knn", "--train", "store:" + store, "--test", "store:" + store);
        Assert.Contains($"Embedding store '{store}': its sidecar says the rows come from ", line);
        Assert.Contains("the pair does not belong together", line);
        ReliabilityFigures.Fault(nameof(CorruptFilesReliabilityTests), "sidecar identity disagrees", 1, 0, 0, "one-line error naming the store");
    }

    [Fact]
    public void AMetricsLogWithATornLastLineIsAWarningAndTheRestIsUsed()
    {
        string run = TinyRun.NewFolder("torn");
        foreach (var f in new[] { "metrics.jsonl", "config.json" }) File.Copy(Path.Combine(TinyRun.Baseline, f), Path.Combine(run, f));
        string metrics = Path.Combine(run, "metrics.jsonl");
        int lines = File.ReadAllLines(metrics).Length;
        File.AppendAllText(metrics, "{\"step\":13,\"epoch\":0.5,\"total_lo");   // a kill in the middle of a line
        string html = Path.Combine(run, "out.html");
        var (code, _, stderr) = DinoCli.Run(["report", run, "--out", html]);
        output.WriteLine(stderr);
        Assert.Equal(0, code);
        Assert.Equal($"warning: {metrics}: the last line ({lines + 1}) is torn (a run killed while writing it); using the {lines} lines before it.",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.True(File.Exists(html));

        // A bad line before the last is corruption, not a kill: one line naming it.
        File.WriteAllLines(metrics, [.. File.ReadAllLines(metrics).Take(2), "garbage", .. File.ReadAllLines(metrics).Skip(2).Take(2)]);
        var line = OneLineError("report", run, "--out", html);
        Assert.Equal($"dino: {metrics}: line 3 is not a metrics line (JSON); the file is corrupt: restore it or remove the line.", line);
        ReliabilityFigures.Fault(nameof(CorruptFilesReliabilityTests), "metrics.jsonl torn last line", 1, 0, 0, $"warning; {lines} lines used");
    }

    [Fact]
    public void ARunFolderWithoutModelJsonIsOneLine()
    {
        string run = TinyRun.NewFolder("no-model-json");
        foreach (var f in Directory.GetFiles(TinyRun.Baseline)) File.Copy(f, Path.Combine(run, Path.GetFileName(f)));
        File.Delete(Path.Combine(run, "model.json"));
        for (int i = 0; i < 2; i++) files.Write($"photos/img{i}.png", TestImages.Png(TestImages.Pattern(24, 24, seed: i)));
        var line = OneLineError("embed", "--model", run, "--data", files.PathOf("photos"), "--out", files.PathOf("stores/x"), "--quiet");
        Assert.Contains(run, line);
        Assert.Contains("model.json", line);
        Assert.False(File.Exists(files.PathOf("stores/x") + ".safetensors"));
        ReliabilityFigures.Fault(nameof(CorruptFilesReliabilityTests), "run folder without model.json", 1, 0, 0, "one-line error naming the folder and model.json");
    }
}
