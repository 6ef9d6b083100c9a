namespace DinoSharp.Data;

/// <summary>Opens a dataset from the one-string form used on the command line and in configs.</summary>
public static class DatasetSpec
{
    /// <summary>The accepted dataset strings, for help texts and error messages.</summary>
    public const string AcceptedForms =
        "fashion-mnist:train, fashion-mnist:test, folder:<path>, idx:<images>[,<labels>], list:<file>, or an existing folder path";

    /// <summary>Opens the dataset named by <paramref name="spec"/> (see <see cref="AcceptedForms"/>); a bare path of an existing folder means <c>folder:</c>.</summary>
    /// <exception cref="ArgumentException">The string is not one of the accepted forms.</exception>
    /// <exception cref="DatasetNotFoundException">The named dataset, folder or list is missing or holds no images.</exception>
    public static IImageDataset Open(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec = spec.Trim();
        if (spec == "fashion-mnist:train") return new FashionMnist(train: true);
        if (spec == "fashion-mnist:test") return new FashionMnist(train: false);
        if (spec.StartsWith("folder:", StringComparison.Ordinal)) return new FolderDataset(spec["folder:".Length..]);
        if (spec.StartsWith("list:", StringComparison.Ordinal)) return new ListDataset(spec["list:".Length..]);
        if (spec.StartsWith("idx:", StringComparison.Ordinal))
        {
            string[] parts = spec["idx:".Length..].Split(',', 2);
            return new IdxDataset(parts[0], parts.Length > 1 ? parts[1] : null);
        }
        if (spec.Length > 0 && Directory.Exists(spec)) return new FolderDataset(spec);
        throw new ArgumentException($"Unknown dataset '{spec}': not an existing folder and not one of: {AcceptedForms}.", nameof(spec));
    }

    /// <summary>The images at <paramref name="indices"/> of <paramref name="dataset"/>, in that order.</summary>
    public static IImageDataset Subset(IImageDataset dataset, int[] indices) => new SubsetDataset(dataset, indices);
}
