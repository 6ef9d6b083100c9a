using DinoSharp.Data;
using DinoSharp.Models;
using DinoSharp.Training;
using TorchSharp;

namespace DinoSharp.Eval;

/// <summary>
/// Embeds a dataset with any <see cref="IImageEmbedder"/> in batches, in order, skipping images that cannot be
/// decoded: the step every evaluation protocol (kNN, linear probe, stores for search and clustering) starts from.
/// </summary>
public static class DatasetEmbedder
{
    /// <summary>Embeds images [Start, End) of <paramref name="dataset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The batch size is below 1 or the range is empty or outside the dataset.</exception>
    /// <exception cref="InvalidDataException">No image of the range could be decoded (without chunks; with chunks the result is then empty).</exception>
    public static EmbeddedDataset Embed(IImageEmbedder embedder, IImageDataset dataset, DatasetEmbeddingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentNullException.ThrowIfNull(dataset);
        options ??= new DatasetEmbeddingOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options.BatchSize));
        int end = Math.Min(options.End ?? dataset.Count, dataset.Count), start = options.Start;
        if (start < 0 || start >= end)
            throw new ArgumentOutOfRangeException(nameof(options), $"Images [{start}, {end}) of '{dataset.Name}' ({dataset.Count} images) is an empty range.");

        var parts = new List<TorchSharp.torch.Tensor>();
        var labels = new List<long>();
        var paths = new List<string>();
        var sizes = new List<(int, int)>();
        var unreadable = new UnreadableImages(options.Skipped);
        int batches = 0, chunkStart = start, chunkParts = 0, chunkRows = 0, chunkSkipped = 0;
        try
        {
            for (int first = start; first < end; first += options.BatchSize)
            {
                int last = Math.Min(first + options.BatchSize, end);
                var images = new List<RgbImage>();
                for (int i = first; i < last; i++)
                {
                    if (!unreadable.TryLoad(dataset, i, out var img)) continue;
                    images.Add(img);
                    labels.Add(dataset.Label(i) ?? -1);
                    paths.Add(dataset.Describe(i));
                    sizes.Add((img.Width, img.Height));
                }
                if (images.Count > 0)
                {
                    // A progress display's thread allocates too: see FinalizerHold for why libtorch calls need it.
                    using var hold = FinalizerHold.Begin();
                    using var scope = torch.NewDisposeScope();
                    parts.Add(embedder.Embed(images).MoveToOuterDisposeScope());
                }
                options.Advanced?.Invoke(last - first);
                batches++;
                if (options.ChunkBatches > 0 && (batches % options.ChunkBatches == 0 || last == end))
                {
                    EmitChunk(options, chunkStart, last, parts.Skip(chunkParts).ToList(), labels.Skip(chunkRows).ToArray(),
                        paths.Skip(chunkRows).ToList(), sizes.Skip(chunkRows).ToList(), unreadable.Messages.Skip(chunkSkipped).ToList());
                    (chunkStart, chunkParts, chunkRows, chunkSkipped) = (last, parts.Count, paths.Count, unreadable.Count);
                }
            }
            if (parts.Count == 0 && options.ChunkBatches > 0)
                return new EmbeddedDataset(torch.empty(0), [], [], [], unreadable.Messages);   // the chunks hold everything there is
            if (parts.Count == 0)
                throw new InvalidDataException($"No image of '{dataset.Name}' could be decoded ({unreadable.Count} skipped; the first: {unreadable.Messages.FirstOrDefault()}).");
            return new EmbeddedDataset(torch.cat(parts, 0), labels.ToArray(), paths, sizes, unreadable.Messages);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    static void EmitChunk(DatasetEmbeddingOptions options, int start, int end, List<torch.Tensor> parts, long[] labels,
        List<string> paths, List<(int, int)> sizes, List<string> skipped)
    {
        using var embeddings = parts.Count > 0 ? torch.cat(parts, 0) : torch.empty(0);
        options.ChunkCompleted?.Invoke(new EmbeddingChunk(start, end, new EmbeddedDataset(embeddings, labels, paths, sizes, skipped)));
    }
}
