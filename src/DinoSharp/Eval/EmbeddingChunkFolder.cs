using System.Text.Json;
using DinoSharp.Interop;
using DinoSharp.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// The completed chunks of an embedding in progress, in <c>&lt;store&gt;.partial/</c>: <c>plan.json</c> (the
/// <see cref="EmbeddingPlan"/>) and one folder <c>chunk-000000</c>, <c>chunk-000001</c>, … per chunk, each holding
/// <c>rows.safetensors</c> (the chunk's embeddings, bit for bit) and <c>rows.json</c> (paths, labels, sizes, skipped
/// images, image range). A chunk is written into a temporary folder, flushed and renamed, so after a SIGKILL at any
/// moment every chunk under its final name is complete and the run continues after the last one. Joined in order,
/// the chunks are the rows an uninterrupted run produces.
/// </summary>
public sealed class EmbeddingChunkFolder
{
    const string PlanFile = "plan.json", Prefix = "chunk-";
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    sealed record ChunkRows(int Start, int End, string[] Paths, long[] Labels, int[] Widths, int[] Heights, string[] Skipped);

    EmbeddingChunkFolder(string folder, EmbeddingPlan plan, int chunks, int next)
    {
        Folder = folder;
        Plan = plan;
        Chunks = chunks;
        NextImage = next;
    }

    /// <summary>The folder (<c>&lt;store&gt;.partial</c>).</summary>
    public string Folder { get; }
    /// <summary>The work the chunks belong to.</summary>
    public EmbeddingPlan Plan { get; }
    /// <summary>Complete chunks on disk.</summary>
    public int Chunks { get; private set; }
    /// <summary>The first image index not covered by a complete chunk (where a resumed run starts).</summary>
    public int NextImage { get; private set; }

    /// <summary>The chunk folder of the store at <paramref name="basePath"/>.</summary>
    public static string FolderOf(string basePath) => basePath + ".partial";

    /// <summary>True when an interrupted embedding of the store at <paramref name="basePath"/> left chunks.</summary>
    public static bool Exists(string basePath) => File.Exists(Path.Combine(FolderOf(basePath), PlanFile));

    /// <summary>
    /// Continues the chunks of <paramref name="basePath"/> when they were made for <paramref name="plan"/>, or starts new
    /// ones. Leftover temporary folders of a killed write are removed.
    /// </summary>
    /// <exception cref="InvalidDataException">Chunks of other work are there (another model, dataset, range, batch or chunk size): the message says what differs.</exception>
    public static EmbeddingChunkFolder OpenOrCreate(string basePath, EmbeddingPlan plan)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(basePath);
        ArgumentNullException.ThrowIfNull(plan);
        string folder = FolderOf(basePath);
        string planPath = Path.Combine(folder, PlanFile);
        if (!File.Exists(planPath))
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);   // killed before its plan was written
            string tmp = folder + ".tmp";
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            DiskSpace.Write(folder, tmp, () =>
            {
                Directory.CreateDirectory(tmp);
                WriteFlushed(Path.Combine(tmp, PlanFile), JsonSerializer.SerializeToUtf8Bytes(plan, Json));
                Directory.Move(tmp, folder);
            });
            return new EmbeddingChunkFolder(folder, plan, 0, plan.Start);
        }
        EmbeddingPlan? saved;
        try { saved = JsonSerializer.Deserialize<EmbeddingPlan>(File.ReadAllBytes(planPath), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{planPath}: not a valid embedding plan ({e.Message.ReplaceLineEndings(" ")}); remove {folder} to start over.", e); }
        if (saved != plan)
            throw new InvalidDataException($"{folder} holds an interrupted embedding of other work ({Describe(saved)}; this run: {Describe(plan)}): " +
                $"run the command that started it to continue, or remove {folder} to start over.");
        foreach (var tmp in Directory.EnumerateDirectories(folder, ".tmp-*")) Directory.Delete(tmp, recursive: true);
        int chunks = 0, next = plan.Start;
        while (Directory.Exists(ChunkPath(folder, chunks)))
        {
            next = ReadRows(ChunkPath(folder, chunks)).End;
            chunks++;
        }
        return new EmbeddingChunkFolder(folder, plan, chunks, next);
    }

    /// <summary>Writes the next chunk (temporary folder, flushed, renamed: complete under its final name or absent).</summary>
    public void Append(EmbeddingChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (chunk.Start != NextImage)
            throw new ArgumentException($"Chunk [{chunk.Start}, {chunk.End}) does not continue at image {NextImage}.", nameof(chunk));
        string tmp = Path.Combine(Folder, $".tmp-{Prefix}{Chunks:D6}");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        var r = chunk.Rows;
        DiskSpace.Write(ChunkPath(Folder, Chunks), tmp, () =>
        {
            Directory.CreateDirectory(tmp);
            if (r.Paths.Count > 0)
            {
                SafetensorsFile.Save(Path.Combine(tmp, "rows.safetensors"), [new("embeddings", r.Embeddings)]);
                Flush(Path.Combine(tmp, "rows.safetensors"));
            }
            var rows = new ChunkRows(chunk.Start, chunk.End, [.. r.Paths], r.Labels, r.Sizes.Select(s => s.W).ToArray(), r.Sizes.Select(s => s.H).ToArray(), [.. r.Skipped]);
            WriteFlushed(Path.Combine(tmp, "rows.json"), JsonSerializer.SerializeToUtf8Bytes(rows, Json));
            Directory.Move(tmp, ChunkPath(Folder, Chunks));
        }, r.Embeddings.NumberOfElements * 4 + 4096);
        Chunks++;
        NextImage = chunk.End;
    }

    /// <summary>All chunks joined in order: the rows of the whole range, as an uninterrupted run embeds them.</summary>
    public EmbeddedDataset ReadAll()
    {
        var parts = new List<Tensor>();
        var labels = new List<long>();
        var paths = new List<string>();
        var sizes = new List<(int, int)>();
        var skipped = new List<string>();
        try
        {
            for (int i = 0; i < Chunks; i++)
            {
                string dir = ChunkPath(Folder, i);
                var rows = ReadRows(dir);
                if (rows.Paths.Length > 0)
                {
                    var tensors = SafetensorsFile.Load(Path.Combine(dir, "rows.safetensors"));
                    var emb = tensors["embeddings"];
                    if (emb.shape[0] != rows.Paths.Length)
                        throw new InvalidDataException($"{dir}: {emb.shape[0]} embeddings for {rows.Paths.Length} rows; remove {Folder} to start over.");
                    parts.Add(emb);
                }
                paths.AddRange(rows.Paths);
                labels.AddRange(rows.Labels);
                sizes.AddRange(rows.Widths.Zip(rows.Heights));
                skipped.AddRange(rows.Skipped);
            }
            var all = parts.Count > 0 ? torch.cat(parts, 0) : torch.empty(0);
            return new EmbeddedDataset(all, [.. labels], paths, sizes, skipped);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>Removes the folder (after the store is saved).</summary>
    public void Delete()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
    }

    static string ChunkPath(string folder, int index) => Path.Combine(folder, $"{Prefix}{index:D6}");

    static ChunkRows ReadRows(string dir)
    {
        try
        {
            return JsonSerializer.Deserialize<ChunkRows>(File.ReadAllBytes(Path.Combine(dir, "rows.json")), Json)
                ?? throw new InvalidDataException("empty document");
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new InvalidDataException($"{dir}: unreadable chunk ({e.Message.ReplaceLineEndings(" ")}); remove {Path.GetDirectoryName(dir)} to start over.", e);
        }
    }

    static string Describe(EmbeddingPlan? p) => p is null ? "no plan"
        : $"{p.Identity}, data {p.Dataset}, images [{p.Start}, {p.End}), batch {p.BatchSize}, {p.ChunkBatches} batches a chunk";

    static void WriteFlushed(string path, byte[] bytes)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        fs.Write(bytes);
        fs.Flush(flushToDisk: true);
    }

    static void Flush(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        fs.Flush(flushToDisk: true);
    }
}
