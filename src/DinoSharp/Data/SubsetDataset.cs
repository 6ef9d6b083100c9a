namespace DinoSharp.Data;

/// <summary>A view of selected images of another dataset (e.g. the first N for a quick run), in the given order.</summary>
public sealed class SubsetDataset : IImageDataset
{
    readonly IImageDataset _source;
    readonly int[] _indices;

    /// <summary>A view of <paramref name="source"/>'s images at <paramref name="indices"/> (copied; repeats allowed).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the source.</exception>
    public SubsetDataset(IImageDataset source, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(indices);
        foreach (int i in indices)
            if ((uint)i >= (uint)source.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Index {i} is outside '{source.Name}' (count {source.Count}).");
        _source = source;
        _indices = (int[])indices.Clone();
    }

    /// <summary>The first <paramref name="count"/> images (all of them if the dataset is smaller).</summary>
    public static SubsetDataset First(IImageDataset source, int count)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return new SubsetDataset(source, Enumerable.Range(0, Math.Min(count, source.Count)).ToArray());
    }

    /// <summary>The source's name followed by the subset size, e.g. "fashion-mnist:train[5000]".</summary>
    public string Name => $"{_source.Name}[{_indices.Length}]";
    /// <summary>Number of selected images.</summary>
    public int Count => _indices.Length;
    /// <summary>The source's class names.</summary>
    public IReadOnlyList<string>? ClassNames => _source.ClassNames;
    /// <summary>The source image at the <paramref name="index"/>-th selected position.</summary>
    public RgbImage Load(int index) => _source.Load(_indices[index]);
    /// <summary>The source label of the <paramref name="index"/>-th selected image.</summary>
    public int? Label(int index) => _source.Label(_indices[index]);
    /// <summary>The source's description of the <paramref name="index"/>-th selected image.</summary>
    public string Describe(int index) => _source.Describe(_indices[index]);
}
