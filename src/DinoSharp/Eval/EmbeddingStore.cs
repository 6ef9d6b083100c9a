using System.Security.Cryptography;
using System.Text.Json;
using DinoSharp.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// Embeddings on disk as a pair of files sharing one base path:
/// <c>&lt;name&gt;.safetensors</c> (tensor <c>embeddings</c> [N, D] float32 and, when any row is labelled, <c>labels</c>
/// [N] int64 with -1 for unlabelled rows) and <c>&lt;name&gt;.json</c> (an <see cref="EmbeddingStoreSidecar"/>).
/// Both files are written to a temporary name and renamed, the safetensors first; the sidecar records the SHA-256 of
/// the safetensors it was saved with, so a crash between the two renames, a truncated copy, or files from two
/// different saves are detected by <see cref="Open"/>. Rows are L2-normalised by convention; the caller normalises
/// (<see cref="EmbeddingMath.Normalize"/>) before appending. Embeddings are held in CPU memory (N·D·4 bytes).
/// </summary>
public sealed class EmbeddingStore : IDisposable
{
    /// <summary>Sidecar format this library writes and the only one <see cref="Open"/> accepts.</summary>
    public const int FormatVersion = 1;
    /// <summary>Extension of the embeddings file.</summary>
    public const string SafetensorsExtension = ".safetensors";
    /// <summary>Extension of the JSON sidecar (model identity, rows, class names, checksum).</summary>
    public const string SidecarExtension = ".json";

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    readonly List<EmbeddingRow> rows;
    readonly List<Tensor> pending = []; // appended [n, D] blocks not yet concatenated
    Tensor embeddings;                  // [N, D] float32, CPU

    EmbeddingStore(string basePath, ModelIdentity identity, int dimension, DateTimeOffset createdUtc,
        Tensor embeddings, List<EmbeddingRow> rows, List<string> classNames)
    {
        BasePath = basePath;
        Identity = identity;
        Dimension = dimension;
        CreatedUtc = createdUtc;
        this.embeddings = embeddings;
        this.rows = rows;
        ClassNames = classNames;
    }

    /// <summary>Path without extension; the two files are this plus <c>.safetensors</c> and <c>.json</c>.</summary>
    public string BasePath { get; }
    /// <summary><see cref="BasePath"/> + ".safetensors": embeddings [N, D] float32 and, when any row is labelled, labels [N] int64.</summary>
    public string SafetensorsPath => BasePath + SafetensorsExtension;
    /// <summary><see cref="BasePath"/> + ".json": the <see cref="EmbeddingStoreSidecar"/>.</summary>
    public string SidecarPath => BasePath + SidecarExtension;
    /// <summary>The model, preprocessing and feature kind every row was embedded with; appending embeddings from another identity is refused.</summary>
    public ModelIdentity Identity { get; }
    /// <summary>Embedding width D.</summary>
    public int Dimension { get; }
    /// <summary>When the store was first created (kept across appends), UTC.</summary>
    public DateTimeOffset CreatedUtc { get; }
    /// <summary>Number of rows N, including appended rows not yet saved.</summary>
    public long Count => rows.Count;
    /// <summary>Per-row path, label and original image size, in row order.</summary>
    public IReadOnlyList<EmbeddingRow> Rows => rows;

    /// <summary>
    /// How the model was named when the store was made (e.g. the full path of a run folder), or null; saved with the
    /// store so a query can be embedded with the same model later. Informational: <see cref="Identity"/> decides.
    /// </summary>
    public string? Source { get; set; }

    /// <summary>Set when the store is one shard of a dataset embedded in parts; saved with the store.</summary>
    public EmbeddingShard? Shard { get; set; }

    /// <summary>Class names indexed by label; editable, saved with the store.</summary>
    public List<string> ClassNames { get; }

    /// <summary>All rows as one [N, D] float32 CPU tensor, owned by the store (do not dispose; valid until the next Append).</summary>
    public Tensor Embeddings
    {
        get
        {
            if (pending.Count > 0)
            {
                var all = torch.cat([embeddings, .. pending], 0);
                embeddings.Dispose();
                foreach (var p in pending) p.Dispose();
                pending.Clear();
                embeddings = all;
            }
            return embeddings;
        }
    }

    /// <summary>Per-row labels, -1 where unlabelled.</summary>
    public long[] Labels => rows.Select(r => r.Label).ToArray();

    /// <summary>True when at least one row carries a label.</summary>
    public bool HasLabels => rows.Any(r => r.Label != EmbeddingRow.Unlabelled);

    /// <summary>Labels as a new [N] int64 tensor (the caller disposes it).</summary>
    public Tensor LabelTensor() => torch.tensor(Labels, ScalarType.Int64);

    /// <summary>True when either file of the store at <paramref name="path"/> exists.</summary>
    public static bool Exists(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string basePath = BasePathOf(path);
        return File.Exists(basePath + SafetensorsExtension) || File.Exists(basePath + SidecarExtension);
    }

    /// <summary>Starts an empty store in memory; nothing is written until <see cref="Save"/>.</summary>
    /// <param name="path">Base path, with or without the <c>.safetensors</c> / <c>.json</c> extension.</param>
    /// <param name="identity">The model and feature recipe every row will come from.</param>
    /// <param name="dim">Embedding width D.</param>
    /// <param name="overwrite">When false (default) an existing store at <paramref name="path"/> is refused; use <see cref="OpenForAppend"/> to extend it.</param>
    public static EmbeddingStore Create(string path, ModelIdentity identity, int dim, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        string basePath = BasePathOf(path);
        if (!overwrite && Exists(basePath))
            throw new IOException($"Embedding store '{basePath}' already exists; open it with EmbeddingStore.OpenForAppend or pass overwrite: true.");
        return new EmbeddingStore(basePath, identity, dim, DateTimeOffset.UtcNow, torch.empty(0, dim), [], []);
    }

    /// <summary>
    /// Opens a saved store. Throws <see cref="FileNotFoundException"/> when a file is missing and
    /// <see cref="InvalidDataException"/> (one-line message) when the pair is truncated, corrupt or mismatched.
    /// </summary>
    public static EmbeddingStore Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string basePath = BasePathOf(path);
        string st = basePath + SafetensorsExtension, js = basePath + SidecarExtension;
        bool hasSt = File.Exists(st), hasJs = File.Exists(js);
        if (!hasSt || !hasJs)
            throw new FileNotFoundException(!hasSt && !hasJs
                ? $"Embedding store '{basePath}' not found (expected {Path.GetFileName(st)} and {Path.GetFileName(js)})."
                : $"Embedding store '{basePath}' is incomplete: {Path.GetFileName(hasSt ? js : st)} is missing.", hasSt ? js : st);

        EmbeddingStoreSidecar sidecar;
        try
        {
            sidecar = JsonSerializer.Deserialize<EmbeddingStoreSidecar>(File.ReadAllBytes(js), Json)
                ?? throw new InvalidDataException("empty document");
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"Embedding store '{basePath}': {Path.GetFileName(js)} is not a valid sidecar ({OneLine(e.Message)}).");
        }
        if (sidecar.FormatVersion != FormatVersion)
            throw new InvalidDataException($"Embedding store '{basePath}': format version {sidecar.FormatVersion} is not supported (this library reads version {FormatVersion}).");
        if (sidecar.Identity is null || sidecar.Items is null || sidecar.Items.Count != sidecar.Rows)
            throw new InvalidDataException($"Embedding store '{basePath}': sidecar is incomplete (identity or per-row items missing, or item count differs from rows = {sidecar.Rows}).");

        string actual = Sha256Of(st);
        if (!string.Equals(actual, sidecar.SafetensorsSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"Embedding store '{basePath}': {Path.GetFileName(st)} ({new FileInfo(st).Length} bytes, SHA-256 {actual[..12]}…) does not match its sidecar (expects SHA-256 {Prefix(sidecar.SafetensorsSha256)}…); the file is truncated or the pair comes from different saves.");

        Dictionary<string, Tensor> tensors;
        try
        {
            tensors = SafetensorsFile.Load(st);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Embedding store '{basePath}': {OneLine(e.Message)}");
        }
        try
        {
            if (!tensors.TryGetValue("embeddings", out var emb) || emb.dim() != 2 || emb.shape[0] != sidecar.Rows || emb.shape[1] != sidecar.Dimension)
                throw new InvalidDataException(
                    $"Embedding store '{basePath}': tensor 'embeddings' is missing or not [{sidecar.Rows}, {sidecar.Dimension}] as the sidecar states.");
            if (tensors.TryGetValue("labels", out var lab))
            {
                var fromFile = EmbeddingMath.RequireLabels(lab, sidecar.Rows, "labels");
                if (!fromFile.SequenceEqual(sidecar.Items.Select(r => r.Label)))
                    throw new InvalidDataException($"Embedding store '{basePath}': tensor 'labels' disagrees with the sidecar's per-row labels.");
            }
            tensors.Remove("embeddings");
            return new EmbeddingStore(basePath, sidecar.Identity, sidecar.Dimension, sidecar.CreatedUtc, emb,
                [.. sidecar.Items], [.. sidecar.ClassNames ?? []]) { Source = sidecar.Source, Shard = sidecar.Shard };
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Opens a saved store to extend it with rows from <paramref name="identity"/>; refuses a different identity.</summary>
    public static EmbeddingStore OpenForAppend(string path, ModelIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var store = Open(path);
        if (store.Identity != identity)
        {
            var existing = store.Identity;
            store.Dispose();
            throw new EmbeddingStoreMismatchException(IdentityMismatch(store.BasePath, existing, identity));
        }
        return store;
    }

    /// <summary>
    /// Appends rows. <paramref name="embeddings"/> is [n, D] (any device, converted to float32 CPU and copied);
    /// <paramref name="labels"/> (class indices ≥ 0) and <paramref name="sizes"/> are optional but, when given, need n entries.
    /// <paramref name="producedBy"/>, when given, must equal the store's identity.
    /// </summary>
    public void Append(Tensor embeddings, IReadOnlyList<string> paths, int[]? labels = null, (int W, int H)[]? sizes = null,
        ModelIdentity? producedBy = null)
    {
        EmbeddingMath.RequireMatrix(embeddings, nameof(embeddings));
        ArgumentNullException.ThrowIfNull(paths);
        if (producedBy is not null && producedBy != Identity)
            throw new EmbeddingStoreMismatchException(IdentityMismatch(BasePath, Identity, producedBy));
        long n = embeddings.shape[0];
        if (embeddings.shape[1] != Dimension)
            throw new ArgumentException($"Embeddings have width {embeddings.shape[1]} but the store holds {Dimension}-dimensional rows.", nameof(embeddings));
        if (paths.Count != n)
            throw new ArgumentException($"Got {paths.Count} paths for {n} embedding rows.", nameof(paths));
        if (labels is not null && labels.Length != n)
            throw new ArgumentException($"Got {labels.Length} labels for {n} embedding rows.", nameof(labels));
        if (labels is not null && Array.FindIndex(labels, l => l < 0) is int bad and >= 0)
            throw new ArgumentOutOfRangeException(nameof(labels), $"Labels must be class indices ≥ 0, got labels[{bad}] = {labels[bad]}.");
        if (sizes is not null && sizes.Length != n)
            throw new ArgumentException($"Got {sizes.Length} image sizes for {n} embedding rows.", nameof(sizes));
        using (var finite = embeddings.isfinite().all())
            if (!finite.item<bool>())
                throw new ArgumentException("Embeddings contain NaN or infinity.", nameof(embeddings));

        pending.Add(embeddings.detach().to(ScalarType.Float32, CPU).contiguous().clone());
        for (int i = 0; i < n; i++)
            rows.Add(new EmbeddingRow(paths[i] ?? throw new ArgumentException($"paths[{i}] is null.", nameof(paths)),
                labels?[i] ?? EmbeddingRow.Unlabelled, sizes?[i].W ?? 0, sizes?[i].H ?? 0));
    }

    /// <summary>Appends every row of another store; refuses a store from a different identity.</summary>
    public void Append(EmbeddingStore other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Identity != Identity)
            throw new EmbeddingStoreMismatchException(IdentityMismatch(BasePath, Identity, other.Identity));
        if (other.Dimension != Dimension)
            throw new ArgumentException($"Store '{other.BasePath}' holds {other.Dimension}-dimensional rows, this store {Dimension}.", nameof(other));
        pending.Add(other.Embeddings.clone());
        rows.AddRange(other.rows);
    }

    /// <summary>Writes both files atomically (temporary file + rename each; safetensors first, then the sidecar naming its hash).</summary>
    public void Save()
    {
        string st = SafetensorsPath, js = SidecarPath;
        string? dir = Path.GetDirectoryName(Path.GetFullPath(st));
        if (dir is not null) Directory.CreateDirectory(dir);
        string stTmp = st + ".tmp", jsTmp = js + ".tmp";

        var tensors = new List<KeyValuePair<string, Tensor>> { new("embeddings", Embeddings) };
        Tensor? labelTensor = HasLabels ? LabelTensor() : null;
        try
        {
            if (labelTensor is not null) tensors.Add(new("labels", labelTensor));
            SafetensorsFile.Save(stTmp, tensors, new Dictionary<string, string> { ["format"] = "dinosharp-embeddings" });
        }
        finally
        {
            labelTensor?.Dispose();
        }
        var sidecar = new EmbeddingStoreSidecar(FormatVersion, Identity, CreatedUtc, Count, Dimension, Sha256Of(stTmp), ClassNames.ToArray(), rows.ToArray(), Source, Shard);
        File.WriteAllBytes(jsTmp, JsonSerializer.SerializeToUtf8Bytes(sidecar, Json));
        File.Move(stTmp, st, overwrite: true);
        File.Move(jsTmp, js, overwrite: true);
    }

    /// <summary>Frees the embeddings tensor and any appended blocks; unsaved rows are lost.</summary>
    public void Dispose()
    {
        embeddings.Dispose();
        foreach (var p in pending) p.Dispose();
        pending.Clear();
    }

    static string BasePathOf(string path)
    {
        foreach (var ext in new[] { SafetensorsExtension, SidecarExtension })
            if (path.EndsWith(ext, StringComparison.OrdinalIgnoreCase))
                return path[..^ext.Length];
        return path;
    }

    static string IdentityMismatch(string basePath, ModelIdentity existing, ModelIdentity incoming) =>
        $"Embedding store '{basePath}' holds embeddings from {existing}; refusing to add embeddings from {incoming}.";

    static string Sha256Of(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    static string Prefix(string? sha) => string.IsNullOrEmpty(sha) ? "(none)" : sha.Length > 12 ? sha[..12] : sha;

    static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
