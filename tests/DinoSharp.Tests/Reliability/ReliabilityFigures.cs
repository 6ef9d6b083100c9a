using System.Globalization;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// Figures the reliability tests measure, written as markdown table rows into <c>tests/output/reliability/</c> (or the
/// folder named by DINOSHARP_RELIABILITY_OUT), one file per test and table: <c>scripts/reliability-figures.sh</c> joins
/// them into docs/reliability-figures.md, so the numbers in the docs come from the tests, not from a keyboard.
/// </summary>
public static class ReliabilityFigures
{
    /// <summary>Where the fragments go.</summary>
    public static string Folder { get; } = FindFolder();

    static string FindFolder()
    {
        if (Environment.GetEnvironmentVariable("DINOSHARP_RELIABILITY_OUT") is { Length: > 0 } named) return named;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DinoSharp.slnx"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? Path.GetTempPath(), "tests", "output", "reliability");
    }

    /// <summary>A row of the faults table: what was injected (by kind), how many runs resumed, bytes lost.</summary>
    public static void Fault(string test, string kind, int injected, int resumed, long bytesLost, string detail) =>
        Write($"faults-{test}-{kind}", Row(test, kind, injected.ToString(CultureInfo.InvariantCulture), resumed.ToString(CultureInfo.InvariantCulture),
            bytesLost.ToString(CultureInfo.InvariantCulture), detail));

    /// <summary>A row of the fuzz table: inputs tried for a format, and the slowest one's cost.</summary>
    public static void Fuzz(string format, int inputs, TimeSpan slowest, long slowestAllocatedBytes) =>
        Write($"fuzz-{format}", Row(format, inputs.ToString(CultureInfo.InvariantCulture),
            slowest.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture), (slowestAllocatedBytes / 1024.0).ToString("F0", CultureInfo.InvariantCulture)));

    static string Row(params string[] cells) => "| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |";

    static void Write(string name, string row)
    {
        Directory.CreateDirectory(Folder);
        string path = Path.Combine(Folder, string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_')) + ".md");
        File.WriteAllText(path, row + "\n");
    }
}
