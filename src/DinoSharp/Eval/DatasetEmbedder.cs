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
    /// <exception cref="InvalidDataException">No image of the range could be decoded.</exception>
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
        var skipped = new List<string>();
        try
        {
            for (int first = start; first < end; first += options.BatchSize)
            {
                int last = Math.Min(first + options.BatchSize, end);
                var images = new List<RgbImage>();
                for (int i = first; i < last; i++)
                {
                    try
                    {
                        var img = dataset.Load(i);
                        images.Add(img);
                        labels.Add(dataset.Label(i) ?? -1);
                        paths.Add(dataset.Describe(i));
                        sizes.Add((img.Width, img.Height));
                    }
                    catch (ImageDecodeException e)
                    {
                        skipped.Add(e.Message);
                        options.Skipped?.Invoke(e.Message);
                    }
                }
                if (images.Count > 0)
                {
                    // A progress display's thread allocates too: see FinalizerHold for why libtorch calls need it.
                    using var hold = FinalizerHold.Begin();
                    using var scope = torch.NewDisposeScope();
                    parts.Add(embedder.Embed(images).MoveToOuterDisposeScope());
                }
                options.Advanced?.Invoke(last - first);
            }
            if (parts.Count == 0)
                throw new InvalidDataException($"No image of '{dataset.Name}' could be decoded ({skipped.Count} skipped; the first: {skipped.FirstOrDefault()}).");
            return new EmbeddedDataset(torch.cat(parts, 0), labels.ToArray(), paths, sizes, skipped);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }
}
