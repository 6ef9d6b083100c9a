using System.Diagnostics;
using System.Globalization;
using DinoSharp.Server;

namespace DinoSharp.Benchmarks;

/// <summary>
/// The explorer under load, over loopback: p50/p95 latency and requests/s of search (by row, from the in-memory
/// matrix) on a large store with 1, 2, 4 and 8 concurrent clients, a bounded number of requests each round; and the
/// time to the first gallery page (store embedded from scratch, page listed, every thumbnail on it received) for a
/// fresh folder of photos.
///   serve [data] [model] [requests] [photos] [photo-model]
///   defaults: fashion-mnist:train random:fashion_mnist_cpu 2000 /var/cache/dinosharp/photos-all random:photos_cpu
/// The search store is kept in $TMPDIR/dinosharp-serve-bench (reused by later runs); the photo store is always new.
/// </summary>
public static class ServeBenchmark
{
    public static void Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    static async Task RunAsync(string[] args)
    {
        string data = args.Length > 0 ? args[0] : "fashion-mnist:train";
        string model = args.Length > 1 ? args[1] : "random:fashion_mnist_cpu";
        int requests = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
        string photos = args.Length > 3 ? args[3] : "/var/cache/dinosharp/photos-all";
        string photoModel = args.Length > 4 ? args[4] : "random:photos_cpu";
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; torch threads {TorchSharp.torch.get_num_threads()}; explorer workers {Math.Clamp(Environment.ProcessorCount, 2, 8)}");

        await SearchLoad(data, model, requests);
        if (Directory.Exists(photos)) await FirstPage(photos, photoModel);
        else Console.WriteLine($"{photos}: missing (run scripts/ensure-photos.sh as root); time to first page not measured.");
    }

    static async Task SearchLoad(string data, string model, int requests)
    {
        string cache = Path.Combine(Path.GetTempPath(), "dinosharp-serve-bench");
        var clock = Stopwatch.StartNew();
        await using var server = await ExplorerServer.StartAsync(new ExplorerOptions { Model = model, Data = data, Port = 0, CacheRoot = cache, BatchSize = 256 }, log: Console.Out);
        await server.Built;
        var store = server.Index.Store;
        Console.WriteLine($"store ready in {clock.Elapsed.TotalSeconds:F1} s: {store.Count} × {store.Dimension} ({server.Index.StorePath})");
        using var http = new HttpClient { BaseAddress = server.Address };
        var random = new Random(0);
        for (int i = 0; i < 50; i++) await http.GetStringAsync($"/api/search?index={random.Next((int)store.Count)}&k=10");   // warm-up

        Console.WriteLine($"search (k = 10, {requests} requests a round, rows drawn at random):");
        Console.WriteLine("| clients | p50 ms | p95 ms | requests/s |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (int clients in new[] { 1, 2, 4, 8 })
        {
            var latencies = new double[requests];
            int next = -1;
            var round = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                var rows = new Random(c + 1);
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests)
                {
                    var t = Stopwatch.GetTimestamp();
                    await http.GetStringAsync($"/api/search?index={rows.Next((int)store.Count)}&k=10");
                    latencies[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                }
            })));
            double seconds = round.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            Console.WriteLine($"| {clients} | {Percentile(latencies, 0.50):F1} | {Percentile(latencies, 0.95):F1} | {requests / seconds:F0} |");
        }
    }

    static async Task FirstPage(string photos, string model)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"dinosharp-serve-bench-photos-{Environment.ProcessId}");
        string folder = Path.Combine(dir, "photos");
        Directory.CreateDirectory(folder);
        foreach (var f in Directory.GetFiles(photos)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)), overwrite: true);
        try
        {
            var clock = Stopwatch.StartNew();
            await using var server = await ExplorerServer.StartAsync(new ExplorerOptions { Model = model, Data = folder, Port = 0, CacheRoot = Path.Combine(dir, "cache") }, log: TextWriter.Null);
            double listening = clock.Elapsed.TotalSeconds;
            using var http = new HttpClient { BaseAddress = server.Address };
            // What the page does: poll the status until ready, list the first page, fetch its thumbnails (6 at a time, like a browser).
            while (!(await http.GetStringAsync("/api/status")).Contains("\"phase\":\"ready\"", StringComparison.Ordinal))
            {
                if (server.Built.IsFaulted) await server.Built;
                await Task.Delay(100);
            }
            double ready = clock.Elapsed.TotalSeconds;
            var page = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/items?offset=0&limit=60")).RootElement;
            var rows = page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("index").GetInt32()).ToList();
            using var gate = new SemaphoreSlim(6);
            await Task.WhenAll(rows.Select(async r =>
            {
                await gate.WaitAsync();
                try { await http.GetByteArrayAsync($"/api/thumb/{r}"); } finally { gate.Release(); }
            }));
            double firstPage = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"fresh folder of {Directory.GetFiles(folder).Length} photos, {model}: listening after {listening:F2} s, " +
                $"store embedded and ready after {ready:F2} s, first page ({rows.Count} thumbnails) complete after {firstPage:F2} s");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
