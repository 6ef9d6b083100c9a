using DinoSharp.Eval;
using Spectre.Console;

namespace DinoSharp.Cli;

/// <summary>Warnings and notes on stderr, one line each, prefixed once (a library message that already starts with "warning:" is not prefixed again).</summary>
internal static class Messages
{
    /// <summary>"warning: " + the text without a leading "warning:" of its own.</summary>
    public static string AsWarning(string text) =>
        "warning: " + (text.StartsWith("warning:", StringComparison.OrdinalIgnoreCase) ? text["warning:".Length..].TrimStart() : text);

    /// <summary>Writes <paramref name="text"/> as a warning to stderr.</summary>
    public static void Warning(string text) => Console.Error.WriteLine(AsWarning(text));

    /// <summary>
    /// Prints a line above a live progress display, wrapped at the terminal's width by word: a line the terminal wraps
    /// itself throws off the display's count of lines to redraw, leaving a stale copy of the bar behind.
    /// </summary>
    public static void AboveLiveDisplay(string text, string markupPrefix)
    {
        int width = Math.Max(20, AnsiConsole.Profile.Width - 1);
        int prefixLength = Spectre.Console.Markup.Remove(markupPrefix).Length;
        var lines = new List<string>();
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' '))
        {
            int limit = width - (lines.Count == 0 ? prefixLength : 2);
            if (line.Length > 0 && line.Length + 1 + word.Length > limit)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        lines.Add(line.ToString());
        for (int i = 0; i < lines.Count; i++)
            AnsiConsole.MarkupLine((i == 0 ? markupPrefix : "  ") + Spectre.Console.Markup.Escape(lines[i]));
    }

    /// <summary>Writes a note to stderr unless quiet (stdout stays for results).</summary>
    public static void Note(string text, bool quiet)
    {
        if (!quiet) Console.Error.WriteLine(text);
    }

    /// <summary>Rows of a batch checked for near-identical embeddings.</summary>
    const int DegeneracySample = 256;

    /// <summary>Warns when the first rows of <paramref name="embeddings"/> are near-identical (see <see cref="EmbeddingMath.MeanPairwiseCosine"/>).</summary>
    public static void WarnIfDegenerate(TorchSharp.torch.Tensor embeddings, string model)
    {
        long n = Math.Min(embeddings.shape[0], DegeneracySample);
        if (n < 2) return;
        using var sample = embeddings.narrow(0, 0, n);
        double cosine = EmbeddingMath.MeanPairwiseCosine(sample);
        if (cosine > EmbeddingMath.NearIdenticalCosine)
        {
            string mean = cosine.ToString("F6", System.Globalization.CultureInfo.InvariantCulture);
            Warning($"the embeddings of {model} are near-identical (mean pairwise cosine {mean} over {n} images): it does not tell these images apart, so neighbours, clusters and kNN on them mean little" +
                (model.StartsWith("random:", StringComparison.Ordinal) ? " (an untrained network's cls token; try --features avgpatch)." : "."));
        }
    }
}
