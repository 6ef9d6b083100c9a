using System.Net;

namespace DinoSharp.Server;

/// <summary>What `dino serve` was asked for: the model, the images, where the store lives and where to listen.</summary>
public sealed record ExplorerOptions
{
    /// <summary>Largest accepted upload (a query image), 16 MiB: a phone photo is a few MB.</summary>
    public const long DefaultMaxUploadBytes = 16L << 20;

    /// <summary>The --model string (run folder, weights file, random:&lt;arch&gt;, raw, a .onnx file).</summary>
    public required string Model { get; init; }
    /// <summary>The --data string (a folder, folder:&lt;path&gt;, fashion-mnist:test, …).</summary>
    public required string Data { get; init; }
    /// <summary>Embedding store to reuse or create; null: a per-user cache folder keyed by model identity and data.</summary>
    public string? Store { get; init; }
    /// <summary>Address to listen on; loopback unless the user says otherwise.</summary>
    public IPAddress Host { get; init; } = IPAddress.Loopback;
    /// <summary>TCP port; 0 picks a free one.</summary>
    public int Port { get; init; } = 8765;
    /// <summary>Architecture for weights without a model.json.</summary>
    public string? Arch { get; init; }
    /// <summary>Feature kind of the store (cls, avgpatch, …); null: cls.</summary>
    public string? Features { get; init; }
    /// <summary>Model input size; null: the model's own.</summary>
    public int? ImageSize { get; init; }
    /// <summary>Images per forward pass while embedding.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Largest accepted upload in bytes.</summary>
    public long MaxUploadBytes { get; init; } = DefaultMaxUploadBytes;
    /// <summary>Largest decoded upload in pixels (the guarded decoder refuses more before allocating).</summary>
    public long MaxUploadPixels { get; init; } = 50_000_000;
    /// <summary>Cache root for stores made without --store; null: $XDG_CACHE_HOME/dinosharp/explorer or ~/.cache/dinosharp/explorer.</summary>
    public string? CacheRoot { get; init; }
}
