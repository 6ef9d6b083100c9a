using System.Globalization;

namespace DinoSharp.Data;

/// <summary>
/// Images named in a text file, one per line: <c>path</c>, <c>path&lt;TAB&gt;label</c> or <c>path label</c> (an integer
/// after the last space). A tab label that is not an integer is a class name; names are numbered in ordinal order.
/// Relative paths are resolved against the list file's folder so a list travels with its images. Blank lines and lines
/// starting with '#' are ignored. Either every line has a label or none has.
/// </summary>
public sealed class ListDataset : IImageDataset
{
    readonly string[] _files;
    readonly int[]? _labels;
    readonly long _maxPixels;

    /// <summary>Reads and checks the list; images are decoded only when loaded.</summary>
    /// <param name="listFile">The text file naming the images.</param>
    /// <param name="maxPixels">Images declaring more pixels than this are refused before decoding (<see cref="ImageDecoder.DefaultMaxPixels"/>).</param>
    /// <exception cref="DatasetNotFoundException">The list does not exist or names no images.</exception>
    /// <exception cref="FormatException">A line has an empty path, or only some lines have a label.</exception>
    public ListDataset(string listFile, long maxPixels = ImageDecoder.DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(listFile);
        if (!File.Exists(listFile))
            throw new DatasetNotFoundException($"Image list '{listFile}' does not exist.");
        ListFile = Path.GetFullPath(listFile);
        _maxPixels = maxPixels;
        string baseDir = Path.GetDirectoryName(ListFile)!;

        var files = new List<string>();
        var labels = new List<string?>();
        int lineNo = 0;
        foreach (string raw in File.ReadLines(ListFile))
        {
            lineNo++;
            string line = raw.TrimEnd('\r', '\n');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
                continue;
            (string path, string? label) = Split(line);
            if (path.Length == 0)
                throw new FormatException($"'{ListFile}' line {lineNo}: empty path.");
            files.Add(Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDir, path)));
            labels.Add(label);
        }
        if (files.Count == 0)
            throw new DatasetNotFoundException($"Image list '{ListFile}' names no images.");
        int labelled = labels.Count(l => l is not null);
        if (labelled != 0 && labelled != labels.Count)
            throw new FormatException($"'{ListFile}': {labelled} of {labels.Count} lines have a label; label all or none.");

        _files = files.ToArray();
        if (labelled > 0)
        {
            if (labels.All(l => int.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0))
            {
                _labels = labels.Select(l => int.Parse(l!, CultureInfo.InvariantCulture)).ToArray();
            }
            else
            {
                (string[] names, _labels) = ClassLabels.FromNames(labels.Select(l => l!).ToArray());
                ClassNames = names;
            }
        }
    }

    /// <summary>The absolute path of the list file.</summary>
    public string ListFile { get; }
    /// <summary>"list:" followed by <see cref="ListFile"/>.</summary>
    public string Name => "list:" + ListFile;
    /// <summary>Number of images named (blank and comment lines excluded).</summary>
    public int Count => _files.Length;
    /// <summary>The class names in ordinal order when the labels are names; null when they are integers or absent.</summary>
    public IReadOnlyList<string>? ClassNames { get; }
    /// <summary>Absolute image paths in list order.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <inheritdoc/>
    public RgbImage Load(int index) => ImageDecoder.Decode(_files[index], _maxPixels);

    /// <summary>The integer label, or the index of the class name in <see cref="ClassNames"/>; null when the list has no labels.</summary>
    public int? Label(int index) => _labels?[index];

    /// <summary>The absolute path of image <paramref name="index"/>.</summary>
    public string Describe(int index) => _files[index];

    static (string Path, string? Label) Split(string line)
    {
        int tab = line.LastIndexOf('\t');
        if (tab >= 0)
            return (line[..tab].Trim(), line[(tab + 1)..].Trim());
        string trimmed = line.Trim();
        int space = trimmed.LastIndexOf(' ');
        // Only an integer after the last space is a label; "my photo.jpg" stays a path with a space.
        if (space > 0 && int.TryParse(trimmed[(space + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            return (trimmed[..space].TrimEnd(), trimmed[(space + 1)..]);
        return (trimmed, null);
    }
}
