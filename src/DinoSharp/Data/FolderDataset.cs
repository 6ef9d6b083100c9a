namespace DinoSharp.Data;

/// <summary>
/// Every image file under a folder, recursively, in ordinal order of relative path (so the index of a file does not
/// depend on the file system's enumeration order). When all images sit in first-level subfolders, the subfolder is
/// the class (the ImageFolder convention); otherwise the dataset is unlabelled.
/// </summary>
public sealed class FolderDataset : IImageDataset
{
    /// <summary>Extensions recognised as images (case-insensitive).</summary>
    public static readonly IReadOnlyList<string> Extensions = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"];

    readonly string[] _files;
    readonly int[]? _labels;
    readonly long _maxPixels;

    /// <summary>Lists every image under <paramref name="root"/> (recursively, skipping inaccessible folders); images are decoded only when loaded.</summary>
    /// <param name="root">The folder; relative paths are made absolute.</param>
    /// <param name="maxPixels">Images declaring more pixels than this are refused before decoding (<see cref="ImageDecoder.DefaultMaxPixels"/>).</param>
    /// <exception cref="DatasetNotFoundException">The folder does not exist or holds no image with a recognised extension.</exception>
    public FolderDataset(string root, long maxPixels = ImageDecoder.DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root))
            throw new DatasetNotFoundException($"Image folder '{root}' does not exist.");
        Root = Path.GetFullPath(root);
        _maxPixels = maxPixels;

        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true };
        var relative = Directory.EnumerateFiles(Root, "*", options)
            .Where(IsImagePath)
            .Select(f => Path.GetRelativePath(Root, f))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (relative.Length == 0)
            throw new DatasetNotFoundException(
                $"No images ({string.Join(' ', Extensions)}) found under '{Root}'.");

        _files = relative.Select(r => Path.Combine(Root, r)).ToArray();
        if (relative.All(r => r.Contains(Path.DirectorySeparatorChar)))
        {
            string[] classOf = relative.Select(r => r[..r.IndexOf(Path.DirectorySeparatorChar)]).ToArray();
            (string[] names, _labels) = ClassLabels.FromNames(classOf);
            ClassNames = names;
        }
    }

    /// <summary>The absolute path of the folder.</summary>
    public string Root { get; }

    /// <summary>"folder:" followed by <see cref="Root"/>.</summary>
    public string Name => "folder:" + Root;

    /// <summary>Number of image files found.</summary>
    public int Count => _files.Length;

    /// <summary>The first-level subfolder names in ordinal order when every image is in one, otherwise null (unlabelled).</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Absolute paths in dataset order.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <inheritdoc/>
    public RgbImage Load(int index) => ImageDecoder.Decode(_files[index], _maxPixels);

    /// <summary>The index of image <paramref name="index"/>'s subfolder in <see cref="ClassNames"/>, or null when unlabelled.</summary>
    public int? Label(int index) => _labels?[index];

    /// <summary>The absolute path of image <paramref name="index"/>.</summary>
    public string Describe(int index) => _files[index];

    /// <summary>Whether <paramref name="path"/> ends in one of <see cref="Extensions"/> (the content is not checked).</summary>
    public static bool IsImagePath(string path) =>
        Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);
}
