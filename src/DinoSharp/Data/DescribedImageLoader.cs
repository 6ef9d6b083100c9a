using System.Globalization;

namespace DinoSharp.Data;

/// <summary>
/// Loads an image back from what <see cref="IImageDataset.Describe"/> returned (e.g. a path recorded in an embedding
/// store): an image file, or "&lt;dataset string&gt;#&lt;index&gt;" for an image inside a dataset such as
/// "fashion-mnist:test#12". Datasets are opened once and kept for later calls. Not thread-safe.
/// </summary>
public sealed class DescribedImageLoader
{
    readonly Dictionary<string, IImageDataset> datasets = new(StringComparer.Ordinal);

    /// <summary>The image; throws <see cref="ImageDecodeException"/> when it cannot be found or decoded.</summary>
    public RgbImage Load(string description)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        if (File.Exists(description)) return ImageDecoder.Decode(description);
        int hash = description.LastIndexOf('#');
        if (hash > 0 && int.TryParse(description.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            string spec = description[..hash];
            if (!datasets.TryGetValue(spec, out var dataset))
            {
                try { dataset = DatasetSpec.Open(spec); }
                catch (Exception e) when (e is ArgumentException or IOException or DatasetNotFoundException or InvalidDataException)
                {
                    throw new ImageDecodeException(description, $"dataset '{spec}' cannot be opened ({e.Message.ReplaceLineEndings(" ")})", e);
                }
                datasets[spec] = dataset;
            }
            if (index >= dataset.Count)
                throw new ImageDecodeException(description, $"dataset '{spec}' has only {dataset.Count} images");
            return dataset.Load(index);
        }
        throw new ImageDecodeException(description, "no such file, and not of the form <dataset>#<index>");
    }
}
