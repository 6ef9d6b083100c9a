using System.Collections.Concurrent;
using System.Globalization;
using DinoSharp.Data;
using DinoSharp.Eval;

namespace DinoSharp.Server;

/// <summary>
/// The images behind the rows of a store, and nothing else: a row's recorded path (an image file) or
/// "&lt;dataset&gt;#&lt;index&gt;" (an image inside a dataset). Requests name rows by number, never by path, so no request
/// can reach a file that is not indexed. Thumbnails are kept in memory up to a byte budget. Safe for concurrent use.
/// </summary>
sealed class RowImages(IReadOnlyList<EmbeddingRow> rows, IImageDataset? dataset)
{
    /// <summary>Longer side of a gallery thumbnail in pixels.</summary>
    public const int ThumbnailSide = 160;
    const long ThumbnailBudgetBytes = 64L << 20;

    readonly ConcurrentDictionary<string, IImageDataset> datasets = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<int, byte[]> thumbnails = new();
    long thumbnailBytes;

    /// <summary>Number of rows.</summary>
    public int Count => rows.Count;

    /// <summary>Decodes row <paramref name="row"/>'s image through the guarded decoder.</summary>
    public RgbImage Load(int row)
    {
        string path = rows[row].Path;
        if (File.Exists(path)) return ImageDecoder.Decode(path);
        int hash = path.LastIndexOf('#');
        if (hash > 0 && int.TryParse(path.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            string spec = path[..hash];
            var source = dataset is not null && index < dataset.Count && dataset.Describe(index) == path ? dataset : OpenDataset(spec, path);
            if (index < source.Count) return source.Load(index);
        }
        throw new ImageDecodeException(path, "the indexed image is no longer there");
    }

    IImageDataset OpenDataset(string spec, string path)
    {
        try { return datasets.GetOrAdd(spec, DatasetSpec.Open); }
        catch (Exception e) when (e is ArgumentException or IOException or DatasetNotFoundException or InvalidDataException)
        {
            throw new ImageDecodeException(path, $"dataset '{spec}' cannot be opened ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    /// <summary>The row's thumbnail as PNG (longer side <see cref="ThumbnailSide"/>).</summary>
    public byte[] Thumbnail(int row)
    {
        if (thumbnails.TryGetValue(row, out var png)) return png;
        png = PngBytes.Encode(PngBytes.Fit(Load(row), ThumbnailSide));
        if (Interlocked.Add(ref thumbnailBytes, png.Length) > ThumbnailBudgetBytes)
        {
            thumbnails.Clear();                  // a crude but bounded cache: start over when full
            Interlocked.Exchange(ref thumbnailBytes, png.Length);
        }
        thumbnails[row] = png;
        return png;
    }

    /// <summary>A short display name: the file name, or the dataset string with its index.</summary>
    public string Name(int row) => rows[row].Path.Contains('#') && !File.Exists(rows[row].Path) ? rows[row].Path : Path.GetFileName(rows[row].Path);
}
