using DinoSharp.Cli;
using DinoSharp.Server;

namespace DinoSharp.Tests.Serve;

/// <summary>How the explorer finds or makes its store: reuse by model identity, refusal of another model's store, one writer per store, the per-user cache.</summary>
[Collection(ExplorerCollection.Name)]
public sealed class ExplorerStartupTests(ExplorerFixture fx)
{
    [Fact]
    public async Task ASecondStartReusesTheStoreOfTheSameModelWithoutRewritingIt()
    {
        var written = File.GetLastWriteTimeUtc(fx.StorePath + ".safetensors");
        var log = new StringWriter();
        await using var server = await Start(fx.StorePath, ExplorerFixture.Model, log);
        await server.Built;
        Assert.Contains("Reusing the embedding store", log.ToString());
        Assert.Equal(written, File.GetLastWriteTimeUtc(fx.StorePath + ".safetensors"));
        using var http = new HttpClient { BaseAddress = server.Address };
        Assert.Equal(await fx.Http.GetStringAsync("/api/search?index=2&k=5"), await http.GetStringAsync("/api/search?index=2&k=5"));
    }

    [Fact]
    public async Task AStoreOfAnotherModelIsRefusedAndThePageSaysWhy()
    {
        await using var server = await Start(fx.StorePath, "raw", new StringWriter());
        var error = await Assert.ThrowsAsync<ExplorerStartException>(() => server.Built);
        Assert.Contains("holds embeddings of ", error.Message);
        Assert.Contains("but --model raw gives raw (weights none", error.Message);
        using var http = new HttpClient { BaseAddress = server.Address };
        Assert.Contains("\"phase\":\"failed\"", await http.GetStringAsync("/api/status"));
        using var response = await http.GetAsync("/api/items");
        Assert.Equal(503, (int)response.StatusCode);
        Assert.Contains("could not be built", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AStoreBeingWrittenByAnotherWriterIsRefusedNamingTheHolder()
    {
        string store = Path.Combine(fx.Dir, "held", "store");
        using (StoreWriterLock.Acquire(store, TextWriter.Null))
        {
            await using var server = await Start(store, ExplorerFixture.Model, new StringWriter());
            var error = await Assert.ThrowsAsync<ExplorerStartException>(() => server.Built);
            Assert.Contains("another process is writing this embedding store", error.Message);
            Assert.Contains($"PID {Environment.ProcessId}", error.Message);
        }
        Assert.False(File.Exists(store + ".safetensors"));
    }

    [Fact]
    public async Task AStaleLockIsTakenOverWithAWarning()
    {
        string store = Path.Combine(fx.Dir, "stale", "store");
        Directory.CreateDirectory(Path.GetDirectoryName(store)!);
        File.WriteAllText(store + ".lock.owner", "PID 999999 on elsewhere, started 2020-01-01 00:00:00 UTC");
        var log = new StringWriter();
        await using var server = await Start(store, ExplorerFixture.Model, log);
        await server.Built;
        Assert.Contains("taking over a stale writer lock (PID 999999", log.ToString());
        Assert.True(File.Exists(store + ".safetensors"));
        Assert.False(File.Exists(store + ".lock.owner"));
    }

    [Fact]
    public async Task WithoutStoreTheStoreGoesToTheCacheKeyedByModelAndData()
    {
        string cache = Path.Combine(fx.Dir, "cache-keyed");
        await using var a = await ExplorerServer.StartAsync(new ExplorerOptions { Model = ExplorerFixture.Model, Data = fx.Photos, Port = 0, CacheRoot = cache }, log: TextWriter.Null);
        await a.Built;
        await using var b = await ExplorerServer.StartAsync(new ExplorerOptions { Model = "raw:16", Data = fx.Photos, Port = 0, CacheRoot = cache }, log: TextWriter.Null);
        await b.Built;
        var c = await ExplorerServer.StartAsync(new ExplorerOptions { Model = ExplorerFixture.Model, Data = "folder:" + fx.Photos, Port = 0, CacheRoot = cache }, log: TextWriter.Null);
        await c.Built;
        Assert.StartsWith(cache, a.Index.StorePath);
        Assert.NotEqual(a.Index.StorePath, b.Index.StorePath);
        Assert.Equal(a.Index.StorePath, c.Index.StorePath);          // the same folder named two ways: one store
        await c.DisposeAsync();
        Assert.Equal(2, Directory.GetFiles(cache, "*.safetensors").Length);
    }

    [Fact]
    public void DinoServeWithoutDataOrWithABadHostIsAUserError()
    {
        var errors = new StringWriter();
        Assert.Equal(1, DinoApp.Run(["serve", "--model", "raw"], errors));
        Assert.Contains("--data", errors.ToString());
        errors = new StringWriter();
        Assert.Equal(1, DinoApp.Run(["serve", "--model", "raw", "--data", fx.Photos, "--host", "my-laptop"], errors));
        Assert.Contains("--host my-laptop", errors.ToString());
        Assert.DoesNotContain(" at ", errors.ToString());
    }

    Task<ExplorerServer> Start(string store, string model, TextWriter log) =>
        ExplorerServer.StartAsync(new ExplorerOptions { Model = model, Data = fx.Photos, Store = store, Port = 0, CacheRoot = Path.Combine(fx.Dir, "cache") }, log: log);
}
