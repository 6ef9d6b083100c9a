using System.Text.Json;
using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;
using DinoSharp.Tests.Data;
using DinoSharp.Tests.Reliability;

namespace DinoSharp.Tests.Cli;

/// <summary>
/// `dino knn`, `linear`, `cluster` and `search` on a small real dataset (Fashion-MNIST, a trained run folder) give
/// exactly what the library's protocols give: the CLI only parses and prints.
/// </summary>
public sealed class CliProtocolTests : IDisposable
{
    const int TrainImages = 200, TestImages_ = 100;
    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    static LabelledFeatures LibraryFeatures(IImageEmbedder embedder) =>
        LabelledFeatures.Embed(embedder, DatasetSpec.Open("fashion-mnist:train"), DatasetSpec.Open("fashion-mnist:test"), TrainImages, TestImages_);

    string[] Common(string json) =>
        ["--model", TinyRun.Baseline, "--train", "fashion-mnist:train", "--test", "fashion-mnist:test",
         "--limit-train", $"{TrainImages}", "--limit-test", $"{TestImages_}", "--json", json, "--quiet"];

    [Fact]
    public void Knn_json_equals_the_library_classifier()
    {
        string json = files.PathOf("knn.json");
        var (code, error) = CliCommandTests.Dino(["knn", .. Common(json), "--k", "5,20"]);
        Assert.True(code == 0, error);

        using var embedder = ModelResolver.Open(TinyRun.Baseline);
        using var data = LibraryFeatures(embedder);
        using var knn = new KnnClassifier(data.TrainX, data.TrainY, data.ClassNames.Count, new KnnOptions { Ks = [5, 20] });
        var expected = knn.Evaluate(data.TestX, data.TestY);

        var root = Json(json);
        Assert.Equal(embedder.Identity.ToString(), root.GetProperty("identity").GetString());
        Assert.Equal(TinyRun.Baseline, root.GetProperty("model").GetString());
        foreach (var a in expected.PerK)
            Assert.Equal(a.Top1, root.GetProperty("top1").GetProperty($"{a.K}").GetDouble());
        Assert.Equal(expected.BestK, root.GetProperty("best_k").GetInt32());
        Assert.True(expected.PerK.Max(a => a.Top1) > 0.3, "a trained model should beat chance (10 %) clearly");
    }

    [Fact]
    public void Linear_json_equals_the_library_probe_with_standardised_features()
    {
        string json = files.PathOf("linear.json");
        var (code, error) = CliCommandTests.Dino(["linear", .. Common(json), "--epochs", "2"]);
        Assert.True(code == 0, error);

        using var embedder = ModelResolver.Open(TinyRun.Baseline);
        using var data = LibraryFeatures(embedder);
        var options = new LinearProbeOptions { Epochs = 2 };
        Assert.True(options.StandardizeFeatures);
        var expected = new LinearProbe(options).Run(data.TrainX, data.TrainY, data.TestX, data.TestY, data.ClassNames.Count);

        var root = Json(json);
        Assert.Equal(expected.TestAccuracy, root.GetProperty("top1").GetDouble());
        Assert.Equal(expected.BestLearningRate, root.GetProperty("best_lr").GetDouble());
        foreach (var v in expected.Validation)
            Assert.Equal(v.ValidationAccuracy, root.GetProperty("validation").GetProperty(v.LearningRate.ToString("G", System.Globalization.CultureInfo.InvariantCulture)).GetDouble());

        // Without standardisation the probe is another protocol: the option is what makes the numbers differ.
        var raw = new LinearProbe(options with { StandardizeFeatures = false }).Run(data.TrainX, data.TrainY, data.TestX, data.TestY, data.ClassNames.Count);
        Assert.NotEqual(expected.Validation.Select(v => v.ValidationAccuracy), raw.Validation.Select(v => v.ValidationAccuracy));
    }

    [Fact]
    public void Cluster_and_search_json_equal_the_library_summary_and_search()
    {
        string store = Path.Combine(files.Folder, "stores", "test");
        var (code, error) = CliCommandTests.Dino("embed", "--model", TinyRun.Baseline, "--data", "fashion-mnist:test", "--limit", $"{TestImages_}", "--out", store, "--quiet");
        Assert.True(code == 0, error);

        string clusters = files.PathOf("clusters.json");
        (code, error) = CliCommandTests.Dino("cluster", "--store", store, "--k", "5", "--restarts", "3", "--show", "4", "--json", clusters, "--quiet");
        Assert.True(code == 0, error);
        using (var s = EmbeddingStore.Open(store))
        {
            var expected = ClusterSummary.Compute(s, new KMeansOptions { Clusters = 5, Restarts = 3, Seed = 0 }, 4);
            var root = Json(clusters);
            Assert.Equal(expected.Purity, root.GetProperty("purity").GetDouble());
            Assert.Equal(expected.Nmi, root.GetProperty("nmi").GetDouble());
            Assert.Equal(expected.Inertia, root.GetProperty("inertia").GetDouble());
            Assert.Equal(expected.Assignments, root.GetProperty("assignments").EnumerateArray().Select(e => e.GetInt64()));
            var jsonClusters = root.GetProperty("clusters").EnumerateArray().ToList();
            for (int c = 0; c < 5; c++)
            {
                Assert.Equal(expected.Clusters[c].Size, jsonClusters[c].GetProperty("size").GetInt64());
                Assert.Equal(expected.Clusters[c].MajorityClass, jsonClusters[c].GetProperty("majority_class").GetString());
                Assert.Equal(expected.Clusters[c].Nearest.Select(m => m.Index), jsonClusters[c].GetProperty("nearest").EnumerateArray().Select(e => e.GetProperty("index").GetInt64()));
            }
            Assert.True(expected.Purity > 0.2, $"purity {expected.Purity}");
        }

        string hits = files.PathOf("hits.json");
        (code, error) = CliCommandTests.Dino("search", "--store", store, "--query", "fashion-mnist:test#3", "--top", "5", "--json", hits, "--quiet");
        Assert.True(code == 0, error);
        using (var s = EmbeddingStore.Open(store))
        using (var embedder = ModelResolver.Open(TinyRun.Baseline))
        using (var query = embedder.Embed([new DescribedImageLoader().Load("fashion-mnist:test#3")]))
        {
            var expected = new SimilaritySearch(s.Embeddings).Search(query, 5)[0];
            var actual = Json(hits).GetProperty("queries")[0].GetProperty("hits").EnumerateArray().ToList();
            Assert.Equal(expected.Select(h => h.Index), actual.Select(h => h.GetProperty("index").GetInt64()));
            Assert.Equal(expected.Select(h => h.Score), actual.Select(h => h.GetProperty("score").GetSingle()));
            Assert.Equal(3, expected[0].Index);   // the query is image 3 of the store
        }
    }
}
