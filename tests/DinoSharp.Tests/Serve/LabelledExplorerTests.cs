using System.Text.Json;
using DinoSharp.Cli;
using DinoSharp.Server;
using DinoSharp.Tests.Data;

namespace DinoSharp.Tests.Serve;

/// <summary>A labelled folder (one sub-folder per class): the gallery shows classes, and the cluster view's scores are `dino cluster --json`'s.</summary>
public sealed class LabelledExplorerTests : IAsyncLifetime
{
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-serve-labelled-").FullName;
    ExplorerServer server = null!;
    HttpClient http = null!;

    public async Task InitializeAsync()
    {
        // Two classes that raw pixels separate only partly: patterns with different seeds, light and dark.
        for (int i = 0; i < 10; i++)
        {
            foreach (var (cls, shift) in new[] { ("dark", 0), ("light", 120) })
            {
                var image = TestImages.Pattern(16, 16, seed: i + 1);
                var bright = new DinoSharp.Data.RgbImage(16, 16, image.Pixels.Select(p => (byte)Math.Min(255, p / 2 + shift)).ToArray());
                Directory.CreateDirectory(Path.Combine(dir, "data", cls));
                File.WriteAllBytes(Path.Combine(dir, "data", cls, $"{i:D2}.png"), TestImages.Png(bright));
            }
        }
        server = await ExplorerServer.StartAsync(new ExplorerOptions { Model = "raw:8", Data = Path.Combine(dir, "data"), Store = Path.Combine(dir, "store"), Port = 0 }, log: TextWriter.Null);
        await server.Built;
        http = new HttpClient { BaseAddress = server.Address };
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await server.DisposeAsync();
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task TheGalleryShowsEachImagesClass()
    {
        var items = JsonDocument.Parse(await http.GetStringAsync("/api/items?limit=100")).RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(20, items.Count);
        Assert.All(items, i => Assert.Equal(Path.GetFileName(Path.GetDirectoryName(i.GetProperty("path").GetString())), i.GetProperty("class").GetString()));
        var status = JsonDocument.Parse(await http.GetStringAsync("/api/status")).RootElement;
        Assert.True(status.GetProperty("labelled").GetBoolean());
        Assert.Equal(["dark", "light"], status.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("raw pixels have no patch tokens", status.GetProperty("patchUnavailable").GetString());
    }

    [Fact]
    public async Task TheClusterViewsPurityAndNmiAreThoseOfDinoCluster()
    {
        var api = JsonDocument.Parse(await http.GetStringAsync("/api/clusters?k=3&seed=0&restarts=10&show=4")).RootElement;
        string json = Path.Combine(dir, "clusters.json");
        var errors = new StringWriter();
        Assert.True(DinoApp.Run(["cluster", "--store", Path.Combine(dir, "store"), "--k", "3", "--json", json, "--quiet"], errors) == 0, errors.ToString());
        var cli = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(cli.GetProperty("purity").GetDouble(), api.GetProperty("purity").GetDouble());
        Assert.Equal(cli.GetProperty("nmi").GetDouble(), api.GetProperty("nmi").GetDouble());
        Assert.Equal(cli.GetProperty("clusters").EnumerateArray().Select(c => c.GetProperty("size").GetInt64()),
            api.GetProperty("clusters").EnumerateArray().Select(c => c.GetProperty("size").GetInt64()));
        Assert.Equal(cli.GetProperty("clusters").EnumerateArray().Select(c => c.GetProperty("nearest").EnumerateArray().Take(4).Select(n => n.GetProperty("index").GetInt64()).ToList()),
            api.GetProperty("clusters").EnumerateArray().Select(c => c.GetProperty("nearest").EnumerateArray().Select(n => (long)n.GetProperty("item").GetProperty("index").GetInt32()).ToList()));
        Assert.InRange(api.GetProperty("purity").GetDouble(), 0.5, 1.0);
    }
}
