namespace DinoSharp.Data;

/// <summary>
/// A fixed, ordered collection of images with optional integer labels. Implementations must be safe to call from
/// several loader threads at once and must return the same image for the same index every time.
/// </summary>
public interface IImageDataset
{
    /// <summary>A short human-readable name (e.g. "fashion-mnist:train", a folder path).</summary>
    string Name { get; }

    /// <summary>Number of images; valid indices are 0 ≤ index &lt; Count.</summary>
    int Count { get; }

    /// <summary>Decodes image <paramref name="index"/>; throws <see cref="ImageDecodeException"/> naming the file if it is bad.</summary>
    RgbImage Load(int index);

    /// <summary>The class index of image <paramref name="index"/>, or null when the dataset is unlabelled.</summary>
    int? Label(int index);

    /// <summary>Class names indexed by label, or null when unknown or unlabelled.</summary>
    IReadOnlyList<string>? ClassNames { get; }

    /// <summary>
    /// Where image <paramref name="index"/> comes from: a file path, "fashion-mnist:test#123" for images inside a named
    /// dataset (loadable again with <see cref="DescribedImageLoader"/>), or "idx:#123" for images inside an unnamed IDX file.
    /// </summary>
    string Describe(int index);
}
