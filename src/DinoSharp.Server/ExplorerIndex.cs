using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;
using DinoSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Server;

/// <summary>
/// The explorer's data: the model, the dataset and the embedding store in memory. <see cref="Build"/> reuses the store
/// when its model identity is the model's (opened read-only), and otherwise embeds the dataset into it as the store's
/// one writer, skipping unreadable images with a warning; progress is readable from any thread while it runs.
/// </summary>
public sealed class ExplorerIndex : IDisposable
{
    readonly ExplorerOptions options;
    readonly TextWriter log;
    volatile ExplorerPhase phase = ExplorerPhase.Loading;
    EmbeddingStore? store;

    ExplorerIndex(ExplorerOptions options, IImageEmbedder embedder, IImageDataset dataset, string storePath, TextWriter log)
    {
        this.options = options;
        this.log = log;
        Embedder = embedder;
        Dataset = dataset;
        StorePath = storePath;
        Patches = new PatchFeatures(embedder);
    }

    /// <summary>Current phase; <see cref="ExplorerPhase.Ready"/> once the store is in memory.</summary>
    public ExplorerPhase Phase => phase;
    /// <summary>Images embedded so far (while embedding) or indexed (when ready).</summary>
    public int Done { get; private set; }
    /// <summary>Images to embed.</summary>
    public int Total { get; private set; }
    /// <summary>Images skipped because the guarded decoder refused them.</summary>
    public int Skipped { get; private set; }
    /// <summary>What happened last (reuse, embedding, the error that stopped it).</summary>
    public string Message { get; private set; } = "opening the model";
    /// <summary>The store's base path (given with --store or in the per-user cache).</summary>
    public string StorePath { get; }
    /// <summary>The model queries are embedded with.</summary>
    public IImageEmbedder Embedder { get; }
    /// <summary>The dataset named by --data.</summary>
    public IImageDataset Dataset { get; }
    /// <summary>The store, once <see cref="Phase"/> is <see cref="ExplorerPhase.Ready"/>.</summary>
    /// <exception cref="InvalidOperationException">The index is not ready.</exception>
    public EmbeddingStore Store => store ?? throw new InvalidOperationException($"The explorer's index is not ready yet ({Message}).");
    internal PatchFeatures Patches { get; }
    internal RowImages Images { get; private set; } = null!;
    internal SimilaritySearch Search { get; private set; } = null!;

    /// <summary>Opens the model and the dataset and decides where the store is; the work itself is <see cref="Build"/>.</summary>
    /// <exception cref="ExplorerStartException">The model or dataset cannot be opened.</exception>
    public static ExplorerIndex Open(ExplorerOptions options, Func<int, IImageEmbedder> openModel, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(openModel);
        IImageDataset dataset;
        try { dataset = DatasetSpec.Open(options.Data); }
        catch (Exception e) when (e is ArgumentException or DatasetNotFoundException or IOException or InvalidDataException)
        {
            throw new ExplorerStartException($"--data {options.Data}: {OneLine(e.Message)}", e);
        }
        int rawSize = 28;
        try { rawSize = dataset.Count > 0 ? dataset.Load(0).Width : 28; } catch (ImageDecodeException) { }
        var embedder = openModel(rawSize);
        string storePath = options.Store ?? StoreLocation.For(options.CacheRoot, embedder.Identity, options.Data);
        return new ExplorerIndex(options, embedder, dataset, storePath, log);
    }

    /// <summary>Reuses or makes the store, then loads it; on failure the phase is <see cref="ExplorerPhase.Failed"/> and the exception is rethrown.</summary>
    public void Build(CancellationToken cancel = default)
    {
        try
        {
            EmbeddingStore loaded;
            if (EmbeddingStore.Exists(StorePath))
            {
                loaded = OpenExisting();
                log.WriteLine($"Reusing the embedding store {StorePath} ({loaded.Count} images, {Embedder.Identity}).");
            }
            else
            {
                log.WriteLine($"Embedding {Dataset.Count} images of {options.Data} into {StorePath}…");
                loaded = EmbedAll(cancel);
            }
            _ = loaded.Embeddings;                     // concatenate pending blocks now: readers only from here on
            Images = new RowImages(loaded.Rows, Dataset);
            Search = new SimilaritySearch(loaded.Embeddings);
            Done = Total = (int)loaded.Count;
            store = loaded;
            Message = $"{loaded.Count} images from {StorePath}";
            phase = ExplorerPhase.Ready;
        }
        catch (Exception e)
        {
            Message = OneLine(e.Message);
            phase = ExplorerPhase.Failed;
            throw;
        }
    }

    EmbeddingStore OpenExisting()
    {
        var existing = EmbeddingStore.Open(StorePath);
        if (existing.Identity != Embedder.Identity)
        {
            var held = existing.Identity;
            existing.Dispose();
            throw new ExplorerStartException($"{StorePath} holds embeddings of {held}, but --model {options.Model} gives {Embedder.Identity}; " +
                "use the store's model, another --store, or no --store (a cached store per model).");
        }
        if (existing.Count == 0)
        {
            existing.Dispose();
            throw new ExplorerStartException($"{StorePath}: the store is empty.");
        }
        return existing;
    }

    EmbeddingStore EmbedAll(CancellationToken cancel)
    {
        using var writer = StoreWriterLock.Acquire(StorePath, log);
        if (EmbeddingStore.Exists(StorePath)) return OpenExisting();   // another writer finished it while we waited
        phase = ExplorerPhase.Embedding;
        Total = Dataset.Count;
        Message = $"embedding {Total} images";
        var parts = new List<Tensor>();
        var paths = new List<string>();
        var labels = new List<int>();
        var sizes = new List<(int, int)>();
        try
        {
            for (int first = 0; first < Total; first += options.BatchSize)
            {
                cancel.ThrowIfCancellationRequested();
                var images = new List<RgbImage>();
                for (int i = first; i < Math.Min(first + options.BatchSize, Total); i++)
                {
                    try
                    {
                        var image = Dataset.Load(i);
                        images.Add(image);
                        paths.Add(Dataset.Describe(i));
                        labels.Add(Dataset.Label(i) ?? -1);
                        sizes.Add((image.Width, image.Height));
                    }
                    catch (ImageDecodeException e)
                    {
                        Skipped++;
                        log.WriteLine("warning: skipped " + OneLine(e.Message));
                    }
                }
                if (images.Count > 0)
                {
                    using var hold = FinalizerHold.Begin();
                    using var scope = torch.NewDisposeScope();
                    parts.Add(Embedder.Embed(images).MoveToOuterDisposeScope());
                }
                Done = Math.Min(first + options.BatchSize, Total);
                Message = $"embedded {Done} of {Total} images" + (Skipped > 0 ? $" ({Skipped} skipped)" : "");
            }
            if (parts.Count == 0)
                throw new ExplorerStartException($"--data {options.Data}: no image could be embedded ({Skipped} skipped).");
            using var all = torch.cat(parts, 0);
            var created = EmbeddingStore.Create(StorePath, Embedder.Identity, (int)all.shape[1]);
            created.Source = File.Exists(options.Model) || Directory.Exists(options.Model) ? Path.GetFullPath(options.Model) : options.Model;
            bool labelled = labels.All(l => l >= 0);
            created.Append(all, paths, labelled ? labels.ToArray() : null, sizes.ToArray());
            if (labelled && Dataset.ClassNames is { } names) created.ClassNames.AddRange(names);
            created.Save();
            log.WriteLine($"Embedded {paths.Count} images into {created.SafetensorsPath}" + (Skipped > 0 ? $"; skipped {Skipped} unreadable file(s)." : "."));
            return created;
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>Frees the store and the model.</summary>
    public void Dispose()
    {
        store?.Dispose();
        Embedder.Dispose();
    }

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
