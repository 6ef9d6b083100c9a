using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Text.Json;
using DinoSharp.Server;
using DinoSharp.Tests.Data;
using DinoSharp.Tests.Training;

namespace DinoSharp.Tests.Serve;

/// <summary>
/// One explorer, in process on an ephemeral loopback port, over 12 real photos plus one decompression-bomb PNG (which
/// the index must skip with a warning). The model is the untrained vit_pico_p8 of the photo config (64 px, patch 8):
/// its features already find a stereo pair's other view, and it embeds in milliseconds.
/// </summary>
public sealed class ExplorerFixture : IAsyncLifetime
{
    /// <summary>The model every serve test uses.</summary>
    public const string Model = "random:photos_cpu";
    /// <summary>Upload limit of the test server (small, so the oversized-upload test sends little).</summary>
    public const long MaxUploadBytes = 1 << 20;

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), $"dinosharp-serve-{Environment.ProcessId}-{Guid.NewGuid():N}");
    public string Photos => Path.Combine(Dir, "photos");
    public string StorePath => Path.Combine(Dir, "store");
    public StringWriter Log { get; } = new();
    public ExplorerServer Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public IReadOnlyList<string> PhotoFiles { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Photos);
        var files = new List<string>();
        foreach (var file in TestPhotos.Files().Where(f => !f.Contains("logo") && !f.Contains("text") && !f.Contains("page")).Take(12))
        {
            string copy = Path.Combine(Photos, Path.GetFileName(file));
            File.Copy(file, copy);
            files.Add(copy);
        }
        PhotoFiles = files;
        File.WriteAllBytes(Path.Combine(Photos, "zz-bomb.png"), BombPng());
        Server = await ExplorerServer.StartAsync(new ExplorerOptions
        {
            Model = Model, Data = Photos, Store = StorePath, Port = 0, BatchSize = 8, MaxUploadBytes = MaxUploadBytes,
            CacheRoot = Path.Combine(Dir, "cache"),
        }, log: Log);
        await Server.Built;
        Http = new HttpClient { BaseAddress = Server.Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>GET returning the parsed JSON and status.</summary>
    public async Task<(int Status, JsonElement Json)> GetJson(string url)
    {
        using var response = await Http.GetAsync(url);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return ((int)response.StatusCode, json);
    }

    /// <summary>POSTs bytes as a query upload.</summary>
    public async Task<(int Status, JsonElement Json)> Upload(byte[] bytes, int k = 5, string name = "query.png")
    {
        // Expect: 100-continue, as HTTP clients send large bodies: a refusal (413) then arrives before the body is sent,
        // instead of racing a connection the server closes while the client is still writing.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/search?k={k}&name={Uri.EscapeDataString(name)}")
        {
            Content = new ByteArrayContent(bytes),
        };
        request.Headers.ExpectContinue = true;
        using var response = await Http.SendAsync(request);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return ((int)response.StatusCode, json);
    }

    /// <summary>A valid 1×1 PNG whose header then claims 100,000 × 100,000 pixels (CRC fixed up): the guarded decoder's bomb.</summary>
    public static byte[] BombPng()
    {
        var png = TestImages.HandPng(1, 1, colorType: 0, bitDepth: 8, [0x80]);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 100_000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}

[CollectionDefinition(Name)]
public sealed class ExplorerCollection : ICollectionFixture<ExplorerFixture>
{
    public const string Name = "explorer";
}
