using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using DinoSharp.Benchmarking;
using DinoSharp.Eval;

namespace DinoSharp.Tests.Serve;

/// <summary>The explorer's API over loopback: what it refuses (and how), what it answers, under concurrency and load.</summary>
[Collection(ExplorerCollection.Name)]
public sealed class ExplorerApiTests(ExplorerFixture fx)
{
    [Fact]
    public async Task TheIndexSkipsTheBombWithAWarningAndHoldsEveryPhoto()
    {
        var (status, json) = await fx.GetJson("/api/status");
        Assert.Equal(200, status);
        Assert.Equal("ready", json.GetProperty("phase").GetString());
        Assert.Equal(1, json.GetProperty("skipped").GetInt32());
        Assert.Contains("warning: skipped", fx.Log.ToString());
        Assert.Contains("zz-bomb.png", fx.Log.ToString());
        var (_, items) = await fx.GetJson("/api/items?offset=0&limit=500");
        Assert.Equal(fx.PhotoFiles.Count, items.GetProperty("total").GetInt32());
        Assert.Equal(fx.PhotoFiles.Select(Path.GetFileName).Order(StringComparer.Ordinal),
            items.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("name").GetString()));
    }

    [Theory]
    [InlineData("/static/../../../../etc/passwd")]
    [InlineData("/static/..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("/static/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/api/thumb/..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("/api/image/%2fetc%2fpasswd")]
    [InlineData("/api/thumb/-1")]
    [InlineData("/api/thumb/12")]
    [InlineData("/api/image/99999999999")]
    [InlineData("/etc/passwd")]
    [InlineData("/api/image/zz-bomb.png")]
    public async Task PathTraversalAndUnindexedFilesAre404WithAMessage(string path)
    {
        // Sent byte for byte over a socket: HttpClient would normalise the dot segments away before they reach the server.
        var (status, body) = await RawGet(fx.Server.Address, path);
        Assert.Equal(404, status);
        Assert.Contains("\"error\"", body);
        Assert.DoesNotContain("root:", body);
    }

    [Fact]
    public async Task AnOversizedUploadIs413WithAMessageAndTheServerKeepsServing()
    {
        var (status, json) = await fx.Upload(new byte[ExplorerFixture.MaxUploadBytes + 4096]);
        Assert.Equal(413, status);
        Assert.Contains("limit", json.GetProperty("error").GetString());
        Assert.Equal(200, (await fx.GetJson("/api/status")).Status);
    }

    [Fact]
    public async Task ABombOrANonImageUploadIs400WithTheDecodersMessage()
    {
        var (status, json) = await fx.Upload(ExplorerFixture.BombPng(), name: "bomb.png");
        Assert.Equal(400, status);
        Assert.Contains("possible decompression bomb", json.GetProperty("error").GetString());
        (status, json) = await fx.Upload(Encoding.UTF8.GetBytes("this is a text file, not an image"), name: "notes.txt");
        Assert.Equal(400, status);
        Assert.Contains("not a recognised image format", json.GetProperty("error").GetString());
        (status, json) = await fx.Upload([], name: "empty.png");
        Assert.Equal(400, status);
        Assert.Contains("empty", json.GetProperty("error").GetString());
        // Still serving, and a real photo still works.
        (status, json) = await fx.Upload(File.ReadAllBytes(fx.PhotoFiles[0]), name: Path.GetFileName(fx.PhotoFiles[0]));
        Assert.Equal(200, status);
        Assert.Equal(5, json.GetProperty("hits").GetArrayLength());
    }

    [Theory]
    [InlineData("/api/search?index=abc", "index")]
    [InlineData("/api/search", "index")]
    [InlineData("/api/search?index=999", "index")]
    [InlineData("/api/search?index=1&k=0", "k")]
    [InlineData("/api/search?index=1&k=-5", "k")]
    [InlineData("/api/search?index=1&k=99999999999", "k")]
    [InlineData("/api/items?offset=-1", "offset")]
    [InlineData("/api/items?limit=1e3", "limit")]
    [InlineData("/api/duplicates?threshold=abc", "threshold")]
    [InlineData("/api/duplicates?threshold=NaN", "threshold")]
    [InlineData("/api/duplicates?threshold=2", "threshold")]
    [InlineData("/api/clusters?k=0", "k")]
    [InlineData("/api/clusters?k=13", "k")]
    [InlineData("/api/patches?a=0&size=13", "size")]
    [InlineData("/api/patches?a=0&size=100000", "size")]
    [InlineData("/api/patches?a=0&row=999", "row")]
    [InlineData("/api/patches?a=x", "a")]
    [InlineData("/api/image/0?size=abc", "size")]
    public async Task MalformedParametersAre400NamingTheParameterWithoutAStackTrace(string url, string parameter)
    {
        using var response = await fx.Http.GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(400, (int)response.StatusCode);
        string error = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
        Assert.Contains(parameter, error);
        Assert.DoesNotContain(" at ", body);
        Assert.DoesNotContain("Exception", body);
    }

    [Fact]
    public async Task SearchByRowIsTheLibrarysSearchOfTheStoredRow()
    {
        using var store = EmbeddingStore.Open(fx.StorePath);
        var search = new SimilaritySearch(store.Embeddings);
        for (int row = 0; row < store.Count; row += 5)
        {
            var expected = search.Search(store.Embeddings.narrow(0, row, 1), 6)[0];
            var (_, json) = await fx.GetJson($"/api/search?index={row}&k=6");
            var hits = json.GetProperty("hits").EnumerateArray().ToList();
            Assert.Equal(expected.Select(h => h.Index), hits.Select(h => (long)h.GetProperty("item").GetProperty("index").GetInt32()));
            Assert.Equal(expected.Select(h => h.Score), hits.Select(h => h.GetProperty("score").GetSingle()));
        }
    }

    [Fact]
    public async Task ConcurrentRequestsReturnTheSameResultsAsSequentialOnes()
    {
        var urls = Enumerable.Range(0, 6).Select(i => $"/api/search?index={i}&k=8")
            .Concat(["/api/patches?a=1&b=2&size=128&row=3&col=5", "/api/patches?a=4&b=0&size=64&row=1&col=6", "/api/clusters?k=3&seed=1"]).ToList();
        var expected = new Dictionary<string, string>();
        foreach (var url in urls) expected[url] = await fx.Http.GetStringAsync(url);
        var upload = File.ReadAllBytes(fx.PhotoFiles[3]);
        string expectedUpload = (await fx.Upload(upload, k: 8)).Json.GetRawText();

        var tasks = Enumerable.Range(0, 8).Select(client => Task.Run(async () =>
        {
            for (int round = 0; round < 6; round++)
            {
                foreach (var url in urls.Skip(client % 3))
                    Assert.Equal(expected[url], await fx.Http.GetStringAsync(url));
                Assert.Equal(expectedUpload, (await fx.Upload(upload, k: 8)).Json.GetRawText());
            }
        }));
        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task ResidentMemoryAfter2000RequestsStaysWithin10PercentOfThatAfter200()
    {
        var upload = File.ReadAllBytes(fx.PhotoFiles[5]);
        async Task Requests(int n)
        {
            // Four clients, a mix of every kind of libtorch work: search by row, upload (a forward pass), patch maps.
            await Task.WhenAll(Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
            {
                for (int i = c; i < n; i += 4)
                {
                    if (i % 10 == 0) Assert.Equal(200, (await fx.Upload(upload)).Status);
                    else if (i % 10 == 1) await fx.Http.GetStringAsync($"/api/patches?a={i % 12}&b={(i + 1) % 12}&size=64&row={i % 8}&col={i / 8 % 8}");
                    else await fx.Http.GetStringAsync($"/api/search?index={i % 12}&k=5");
                }
            })));
        }
        await Requests(200);
        long after200 = Settled();
        await Requests(2000);
        long after2000 = Settled();
        Assert.True(after2000 <= after200 * 1.10, $"resident memory {after200 / 1e6:F1} MB after 200 requests, {after2000 / 1e6:F1} MB after 2,000");
    }

    [Fact]
    public async Task FourClientsServeMoreRequestsPerSecondThanOne()
    {
        // A ratio measured in one run (not a speed figure): overlapping requests must not queue behind one lock.
        // Rounds of fixed duration (a search here takes well under a millisecond), the better of two each.
        async Task<double> Rate(int clients, TimeSpan duration)
        {
            long done = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                for (int i = c; clock.Elapsed < duration; i += clients)
                {
                    await fx.Http.GetStringAsync($"/api/search?index={i % 12}&k=5");
                    Interlocked.Increment(ref done);
                }
            })));
            return done / clock.Elapsed.TotalSeconds;
        }
        var round = TimeSpan.FromSeconds(1.5);
        await Rate(4, TimeSpan.FromSeconds(0.5));             // warm-up
        double one = Math.Max(await Rate(1, round), await Rate(1, round));
        double four = Math.Max(await Rate(4, round), await Rate(4, round));
        Assert.True(four > one, $"{four:F0} requests/s with 4 clients, {one:F0} with 1");
    }

    /// <summary>Resident memory once collections and finalizers have run (what a long-running server settles to).</summary>
    static long Settled()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return ResidentMemory.Read().Current;
    }

    static async Task<(int Status, string Body)> RawGet(Uri server, string path)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {server.Host}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string response = await reader.ReadToEndAsync();
        int status = int.Parse(response.Split(' ', 3)[1]);
        return (status, response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
    }
}
