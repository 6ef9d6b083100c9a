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

    public string Root { get; }

    public string Name => "folder:" + Root;

    public int Count => _files.Length;

    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Absolute paths in dataset order.</summary>
    public IReadOnlyList<string> Files => _files;

    public RgbImage Load(int index) => ImageDecoder.Decode(_files[index], _maxPixels);

    public int? Label(int index) => _labels?[index];

    public string Describe(int index) => _files[index];

    public static bool IsImagePath(string path) =>
        Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);
}
