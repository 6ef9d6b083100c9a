using System.Text.Json;
using DinoSharp.Cli;
using DinoSharp.Tests.Data;
using DinoSharp.Visualize;

namespace DinoSharp.Tests.Cli;

/// <summary>A folder of generated PNGs and one embedding store of them (random:vit_pico_p4, average-pooled patch tokens).</summary>
public sealed class CliStoreFixture : IDisposable
{
    public CliStoreFixture()
    {
        for (int i = 0; i < 5; i++)
            Images.Add(Files.Write($"photos/img{i}.png", TestImages.Png(TestImages.Pattern(40 + 4 * i, 36, seed: 10 + i))));
        StorePath = Files.PathOf("stores/photos");
        // Average-pooled patch tokens: the store the search and cluster tests read.
        var (code, error) = CliCommandTests.Dino("embed", "--model", "random:vit_pico_p4", "--features", "avgpatch",
            "--data", Files.PathOf("photos"), "--out", StorePath, "--quiet");
        if (code != 0) throw new InvalidOperationException("embed failed: " + error);
    }

    public TestImages Files { get; } = new();
    public List<string> Images { get; } = [];
    public string StorePath { get; }

    public void Dispose() => Files.Dispose();
}

public sealed class CliCommandTests(CliStoreFixture fixture) : IClassFixture<CliStoreFixture>
{
    /// <summary>Runs `dino` in this process; returns the exit code and what it wrote as errors.</summary>
    internal static (int Code, string Error) Dino(params string[] args)
    {
        var errors = new StringWriter();
        int code = DinoApp.Run(args, errors);
        return (code, errors.ToString());
    }

    static void AssertOneLineUserError((int Code, string Error) result, string expected)
    {
        Assert.Equal(CliRunner.UserError, result.Code);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("dino: ", lines[0]);
        Assert.Contains(expected, lines[0], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" at ", result.Error.Replace("dino: ", ""), StringComparison.Ordinal);
    }

    [Fact]
    public void Search_returns_the_query_itself_first_when_it_is_in_the_store()
    {
        string json = fixture.Files.PathOf("out/hits.json"), sheet = fixture.Files.PathOf("out/sheet.png");
        // No --model: the store records the model it was embedded with, and its feature kind is reused.
        var (code, error) = Dino("search", "--store", fixture.StorePath, "--query", fixture.Images[2], "--top", "3",
            "--json", json, "--sheet", sheet, "--tile", "32", "--quiet");
        Assert.True(code == 0, error);

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var hits = doc.RootElement.GetProperty("queries")[0].GetProperty("hits");
        Assert.Equal(3, hits.GetArrayLength());
        Assert.Equal(Path.GetFullPath(fixture.Images[2]), Path.GetFullPath(hits[0].GetProperty("path").GetString()!));
        Assert.Equal(1.0, hits[0].GetProperty("score").GetDouble(), 4);
        Assert.True(hits[1].GetProperty("score").GetDouble() < 0.99999);
        var png = Png.Load(sheet);
        Assert.True(png.Width > 4 * 32 && png.Height > 32);
    }

    /// <summary>
    /// --precision bf16 writes a store whose identity says bf16 (with a warning where the CPU only emulates bfloat16),
    /// search on it follows the store's precision (the query finds itself), fp32 rows are refused by it, and an unknown
    /// precision is a one-line error.
    /// </summary>
    [Fact]
    public void Precision_is_chosen_per_command_and_recorded_in_the_store()
    {
        string store = fixture.Files.PathOf("stores/bf16"), json = fixture.Files.PathOf("out/bf16-hits.json");
        // In its own process, to read its warnings: asked for on a CPU that only emulates bfloat16, bf16 still works but is warned about.
        var (code, _, error) = DinoSharp.Tests.Reliability.DinoCli.Run(["embed", "--model", "random:vit_pico_p4", "--features", "avgpatch", "--precision", "bf16",
            "--data", fixture.Files.PathOf("photos"), "--out", store, "--quiet"]);
        Assert.True(code == 0, error);
        Assert.Equal(!DinoSharp.Layers.ComputePrecision.CpuHasNativeBf16, error.Contains("no native bfloat16 dot products", StringComparison.Ordinal));
        using (var opened = DinoSharp.Eval.EmbeddingStore.Open(store + ".json"))
            Assert.Equal("bf16", opened.Identity.Precision);
        (code, error) = Dino("search", "--store", store, "--query", fixture.Images[3], "--top", "2", "--json", json, "--quiet");
        Assert.True(code == 0, error);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var hits = doc.RootElement.GetProperty("queries")[0].GetProperty("hits");
            Assert.Equal(Path.GetFullPath(fixture.Images[3]), Path.GetFullPath(hits[0].GetProperty("path").GetString()!));
            Assert.True(hits[0].GetProperty("score").GetDouble() > 0.9999);
        }
        var refused = Dino("embed", "--model", "random:vit_pico_p4", "--features", "avgpatch", "--precision", "fp32", "--append",
            "--data", fixture.Files.PathOf("photos"), "--out", store, "--quiet");
        Assert.NotEqual(0, refused.Code);
        Assert.Contains("bf16)", refused.Error);
        Assert.Contains("fp32)", refused.Error);
        AssertOneLineUserError(Dino("embed", "--model", "random:vit_pico_p4", "--precision", "bf17",
            "--data", fixture.Files.PathOf("photos"), "--out", fixture.Files.PathOf("stores/never"), "--quiet"), "--precision 'bf17': use auto, fp32 or bf16");
    }

    [Fact]
    public void Search_works_on_a_raw_pixel_store()
    {
        string store = fixture.Files.PathOf("stores/raw"), json = fixture.Files.PathOf("out/raw-hits.json");
        var (code, error) = Dino("embed", "--model", "raw:16", "--data", fixture.Files.PathOf("photos"), "--out", store, "--quiet");
        Assert.True(code == 0, error);
        // Once with the model named, once taken from the store: both reuse the store's feature kind, "pixels".
        foreach (var model in new[] { new[] { "--model", "raw:16" }, Array.Empty<string>() })
        {
            (code, error) = Dino(["search", .. model, "--store", store, "--query", fixture.Images[1], "--top", "2", "--json", json, "--quiet"]);
            Assert.True(code == 0, error);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var hits = doc.RootElement.GetProperty("queries")[0].GetProperty("hits");
            Assert.Equal(Path.GetFullPath(fixture.Images[1]), Path.GetFullPath(hits[0].GetProperty("path").GetString()!));
            Assert.Equal(1.0, hits[0].GetProperty("score").GetDouble(), 4);
        }
    }

    [Fact]
    public void Search_bad_inputs_are_one_line_errors_and_write_nothing()
    {
        string json = fixture.Files.PathOf("out/never.json");
        string bad = fixture.Files.Write("bad.png", "not an image"u8.ToArray());
        AssertOneLineUserError(Dino("search", "--store", fixture.StorePath, "--query", bad, "--json", json), "Cannot decode image");
        AssertOneLineUserError(Dino("search", "--store", fixture.StorePath, "--query", fixture.Images[0], "--top", "0", "--json", json), "--top 0");
        AssertOneLineUserError(Dino("search", "--store", fixture.StorePath, "--query", fixture.Images[0], "--top", "-2", "--json", json), "--top -2");
        AssertOneLineUserError(Dino("search", "--store", fixture.StorePath, "--model", "random:vit_pico_p7", "--query", fixture.Images[0], "--json", json),
            "use the model");

        string truncated = fixture.Files.PathOf("stores/truncated");
        File.Copy(fixture.StorePath + ".json", truncated + ".json");
        var bytes = File.ReadAllBytes(fixture.StorePath + ".safetensors");
        File.WriteAllBytes(truncated + ".safetensors", bytes[..(bytes.Length / 2)]);
        AssertOneLineUserError(Dino("search", "--store", truncated, "--query", fixture.Images[0], "--json", json), "truncated");
        AssertOneLineUserError(Dino("search", "--store", fixture.Files.PathOf("stores/missing"), "--query", fixture.Images[0]), "not found");
        Assert.False(File.Exists(json));
        Assert.False(File.Exists(json + ".tmp"));
    }

    [Fact]
    public void Cluster_writes_sizes_and_nearest_images_and_rejects_bad_k()
    {
        string json = fixture.Files.PathOf("out/clusters.json"), sheets = fixture.Files.PathOf("out/clusters");
        var (code, error) = Dino("cluster", "--store", fixture.StorePath, "--k", "2", "--restarts", "3", "--show", "2",
            "--json", json, "--sheet-dir", sheets, "--quiet");
        Assert.True(code == 0, error);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var clusters = doc.RootElement.GetProperty("clusters");
            Assert.Equal(2, clusters.GetArrayLength());
            Assert.Equal(5, clusters.EnumerateArray().Sum(c => c.GetProperty("size").GetInt64()));
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("purity").ValueKind);   // unlabelled store
        }
        Assert.Equal(2, Directory.GetFiles(sheets, "*.png").Length);

        string never = fixture.Files.PathOf("out/never-cluster.json");
        AssertOneLineUserError(Dino("cluster", "--store", fixture.StorePath, "--k", "0", "--json", never), "--k 0");
        AssertOneLineUserError(Dino("cluster", "--store", fixture.StorePath, "--k", "6", "--json", never), "only 5");
        AssertOneLineUserError(Dino("cluster", "--store", fixture.Files.PathOf("stores/missing"), "--k", "2"), "not found");
        Assert.False(File.Exists(never));
    }

    [Fact]
    public void Visualize_writes_pca_and_attention_pictures_for_each_image()
    {
        var a = fixture.Files.Write("vis/a.png", TestImages.Png(TestImages.Pattern(48, 40, seed: 1)));
        var b = fixture.Files.Write("vis/b.png", TestImages.Png(TestImages.Pattern(40, 56, seed: 2)));
        string outDir = fixture.Files.PathOf("out/vis");
        var (code, error) = Dino("visualize", "--model", "random:vit_pico_p4", "--images", a, "--images", b, "--out", outDir,
            "--image-size", "64", "--foreground", "0.3", "--tile", "32", "--quiet");
        Assert.True(code == 0, error);
        foreach (var (name, w, h) in new[] { ("a", 48, 40), ("b", 40, 56) })
        {
            var pca = Png.Load(Path.Combine(outDir, name + ".pca.png"));
            Assert.Equal((w, h), (pca.Width, pca.Height));
            var attention = Png.Load(Path.Combine(outDir, name + ".attention.png"));
            Assert.True(attention.Width >= 2 * 32 && attention.Height >= 2 * 32);   // 4 heads → a 2×2 grid
        }

        AssertOneLineUserError(Dino("visualize", "--model", "random:vit_pico_p4", "--images", a, "--image-size", "30"), "multiple of the patch size");
        AssertOneLineUserError(Dino("visualize", "--model", "raw", "--images", a), "raw-pixel");
    }
}

public sealed class CliHelpTests
{
    [Theory]
    [InlineData("train"), InlineData("embed"), InlineData("knn"), InlineData("linear"), InlineData("search"), InlineData("cluster")]
    [InlineData("visualize"), InlineData("bench"), InlineData("convert"), InlineData("report")]
    public void Help_of_every_verb_renders(string verb)
    {
        // Option descriptions are Spectre markup: an unescaped '[' made every --help an internal error.
        var (code, error) = CliCommandTests.Dino(verb, "--help");
        Assert.True(code == 0, error);
    }
}
