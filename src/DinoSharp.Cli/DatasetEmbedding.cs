using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;
using Spectre.Console;

namespace DinoSharp.Cli;

/// <summary>
/// <see cref="DatasetEmbedder"/> with a progress bar (images, images/s, ETA) on a terminal or plain lines elsewhere,
/// skipped images as warnings, and the near-identical-embeddings check.
/// </summary>
internal static class DatasetEmbedding
{
    /// <summary>Embeds images [<paramref name="start"/>, <paramref name="end"/> ?? all) of the dataset in order, skipping unreadable ones.</summary>
    public static EmbeddedDataset Embed(IImageEmbedder embedder, IImageDataset dataset, int batchSize, bool quiet, string what, int? end = null, int start = 0)
    {
        int n = Math.Min(end ?? dataset.Count, dataset.Count) - start;
        // Under the live progress bar a warning would tear the display: it waits until the bar is done.
        bool live = CommonSettings.Interactive && !quiet;
        var options = new DatasetEmbeddingOptions { BatchSize = batchSize, Start = start, End = end, Skipped = live ? null : m => Messages.Warning("skipped " + m) };
        EmbeddedDataset result;
        if (live)
        {
            result = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new CountColumn("images"), new RateColumn("images"), new EtaColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"embedding {Markup.Escape(what)}", maxValue: n);
                    result = DatasetEmbedder.Embed(embedder, dataset, options with { Advanced = k => task.Increment(k) });
                });
            foreach (var message in result.Skipped) Messages.Warning("skipped " + message);
        }
        else
        {
            int done = 0, lastReport = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            result = DatasetEmbedder.Embed(embedder, dataset, options with
            {
                Advanced = k =>
                {
                    done += k;
                    if (!quiet && (done - lastReport >= Math.Max(n / 10, batchSize) || done == n))
                    {
                        lastReport = done;
                        double seconds = clock.Elapsed.TotalSeconds, rate = done / Math.Max(seconds, 1e-9);
                        Console.Error.WriteLine($"embedding {what}: {done}/{n} images, {rate:F0} images/s, ETA {TimeSpan.FromSeconds((n - done) / rate):m\\:ss}");
                    }
                },
            });
        }
        Messages.WarnIfDegenerate(result.Embeddings, embedder switch
        {
            BackboneEmbedder b => b.Source,
            OnnxBackboneEmbedder o => o.Metadata.Source,
            _ => embedder.Identity.Architecture,
        });
        return result;
    }
}
