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

    public string ListFile { get; }
    public string Name => "list:" + ListFile;
    public int Count => _files.Length;
    public IReadOnlyList<string>? ClassNames { get; }
    public IReadOnlyList<string> Files => _files;

    public RgbImage Load(int index) => ImageDecoder.Decode(_files[index], _maxPixels);

    public int? Label(int index) => _labels?[index];

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
