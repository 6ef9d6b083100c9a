using DinoSharp.Data;
using DinoSharp.Server;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// The one rule for unreadable images, checked on every path that reads a dataset: each verb of the real `dino` binary
/// (and the explorer's index) runs over the same <see cref="HostileFolder"/>, exits 0, warns once naming each refused
/// file and reports how many were skipped.
/// </summary>
public sealed class UnreadableImageReliabilityTests : IClassFixture<HostileFolder>
{
    const string Model = "random:vit_pico_p4";
    readonly HostileFolder folder;

    public UnreadableImageReliabilityTests(HostileFolder folder) => this.folder = folder;

    string Data => "folder:" + folder.Root;

    (int Code, string Stderr) Run(params string[] args)
    {
        var (code, stdout, stderr) = DinoCli.Run(args, TimeSpan.FromSeconds(240));
        Assert.True(code == 0, $"dino {string.Join(' ', args)} exited {code}: {stdout}\n{stderr}");
        return (code, stderr);
    }

    [Fact]
    public void TheRuleIsTheGuardedDecodersRefusalOnce()
    {
        var dataset = new FolderDataset(folder.Root);
        var warnings = new List<string>();
        var tally = new UnreadableImages(warnings.Add);
        int readable = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < dataset.Count; i++)
                if (tally.TryLoad(dataset, i, out _)) readable++;
        Assert.Equal(2 * HostileFolder.Readable, readable);
        Assert.Equal(folder.Hostile.Count, tally.Count);
        Assert.Equal(folder.Hostile.Count, warnings.Count);   // met twice, warned once
        Assert.Equal(folder.Hostile.Order(StringComparer.Ordinal), warnings.Select(w => w.Split('\'')[1]).Order(StringComparer.Ordinal));
        Assert.Contains(warnings, w => w.Contains("possible decompression bomb", StringComparison.Ordinal));
        var first = UnreadableImages.FirstReadable(dataset);
        Assert.Equal(32, first.Width);   // a/img0.png, after the five hostile files
        Assert.Equal("5 unreadable image(s) were skipped.", tally.Summary);
    }

    [Fact]
    public void EmbedSkipsEveryUnreadableFileInsteadOfStopping()
    {
        string store = Path.Combine(folder.Output.PathOf("out"), "embed");
        var (_, stderr) = Run("embed", "--model", Model, "--features", "avgpatch", "--data", Data, "--out", store);
        folder.AssertSkippedOnceEach(stderr, "embed");
        using var opened = DinoSharp.Eval.EmbeddingStore.Open(store);
        Assert.Equal(HostileFolder.Readable, opened.Count);
    }

    [Fact]
    public void KnnAndLinearSkipEveryUnreadableFile()
    {
        var (_, knn) = Run("knn", "--model", Model, "--features", "avgpatch", "--train", Data, "--test", Data, "--ks", "3", "--quiet");
        // Train and test are the same folder: each side warns once per file and counts its own.
        foreach (var file in folder.Hostile)
            Assert.Equal(2, knn.Split('\n').Count(l => l.StartsWith("warning: skipping unreadable image: ", StringComparison.Ordinal) && l.Contains($"'{file}'", StringComparison.Ordinal)));
        Assert.Equal(2, knn.Split('\n').Count(l => l.Contains($"{folder.Hostile.Count} unreadable image(s)", StringComparison.Ordinal)));
        var (_, linear) = Run("linear", "--model", Model, "--features", "avgpatch", "--train", Data, "--test", Data, "--epochs", "2", "--quiet");
        Assert.Equal(2, linear.Split('\n').Count(l => l.Contains($"{folder.Hostile.Count} unreadable image(s)", StringComparison.Ordinal)));
        foreach (var verb in new[] { "knn", "linear" })
            ReliabilityFigures.Fault(nameof(UnreadableImageReliabilityTests), "unreadable images: " + verb, 2 * folder.Hostile.Count, 0, 0,
                "the same folder as --train and --test: each side skips and counts the five");
    }

    [Fact]
    public void SearchQueriesFromAFolderSkipEveryUnreadableFile()
    {
        string store = Path.Combine(folder.Output.PathOf("out"), "search-store");
        Run("embed", "--model", Model, "--features", "avgpatch", "--data", "folder:" + Path.Combine(folder.Root, "b"), "--out", store, "--quiet");
        string json = folder.Output.PathOf("out/hits.json");
        var (_, stderr) = Run("search", "--store", store, "--query", Data, "--top", "2", "--json", json);
        folder.AssertSkippedOnceEach(stderr, "search");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(HostileFolder.Readable, doc.RootElement.GetProperty("queries").GetArrayLength());
    }

    [Fact]
    public void VisualizeSkipsEveryUnreadableFile()
    {
        string outDir = folder.Output.PathOf("out/visualize");
        var (_, stderr) = Run("visualize", "--model", "random:vit_pico_p7", "--images", Path.Combine(folder.Root, "a"), "--out", outDir, "--image-size", "28", "--tile", "16");
        folder.AssertSkippedOnceEach(stderr, "visualize");
        Assert.Equal(2 * 8, Directory.GetFiles(outDir, "*.png").Length);   // a PCA map and an attention map per readable image
    }

    [Fact]
    public void TrainingSkipsEveryUnreadableFile()
    {
        string outDir = folder.Output.PathOf("out/train");
        var args = new List<string> { "train", "--data", Data, "--out", outDir, "--steps", "3", "--threads", "1" };
        foreach (var set in new[]
        {
            "student.arch=vit_pico_p7", "crops.global_crops_size=28", "crops.local_crops_size=14", "crops.local_crops_number=1",
            "dino.head_n_prototypes=32", "ibot.head_n_prototypes=32", "dino.head_hidden_dim=32", "ibot.head_hidden_dim=32",
            "dino.head_bottleneck_dim=16", "ibot.head_bottleneck_dim=16", "train.batch_size=20", "train.num_workers=1",
            "train.knn_every=0", "train.log_every=1", "optim.epochs=2", "optim.warmup_epochs=1", "teacher.warmup_teacher_temp_epochs=1",
        })
        {
            args.Add("--set");
            args.Add(set);
        }
        var (_, stderr) = Run([.. args]);
        folder.AssertSkippedOnceEach(stderr, "train");
    }

    [Fact]
    public async Task TheExplorerSkipsEveryUnreadableFileWhenItEmbeds()
    {
        var log = new StringWriter();
        string store = Path.Combine(folder.Output.PathOf("out"), "explorer");
        await using var server = await ExplorerServer.StartAsync(new ExplorerOptions { Model = Model, Features = "avgpatch", Data = Data, Store = store, Port = 0 }, log: log);
        await server.Built;
        string text = log.ToString();
        folder.AssertSkippedOnceEach(text, "explorer");
        using var opened = DinoSharp.Eval.EmbeddingStore.Open(store);
        Assert.Equal(HostileFolder.Readable, opened.Count);
    }
}
