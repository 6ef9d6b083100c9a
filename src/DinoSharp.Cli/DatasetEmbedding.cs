using DinoSharp.Data;
using DinoSharp.Models;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Cli;

/// <summary>Embeds a dataset in batches with a progress bar (or plain lines), skipping images that cannot be decoded.</summary>
internal static class DatasetEmbedding
{
    public sealed record Result(Tensor Embeddings, long[] Labels, List<string> Paths, List<(int W, int H)> Sizes, List<string> Skipped);

    /// <summary>Embeds images [<paramref name="start"/>, <paramref name="end"/> ?? all) of the dataset in order, skipping unreadable ones.</summary>
    public static Result Embed(IImageEmbedder embedder, IImageDataset dataset, int batchSize, bool quiet, string what, int? end = null, int start = 0)
    {
        int n = Math.Min(end ?? dataset.Count, dataset.Count);
        var parts = new List<Tensor>();
        var labels = new List<long>();
        var paths = new List<string>();
        var sizes = new List<(int, int)>();
        var skipped = new List<string>();

        void Work(Action<int> advance)
        {
            for (int first = start; first < n; first += batchSize)
            {
                var images = new List<RgbImage>();
                for (int i = first; i < Math.Min(first + batchSize, n); i++)
                {
                    try
                    {
                        var img = dataset.Load(i);
                        images.Add(img);
                        labels.Add(dataset.Label(i) ?? -1);
                        paths.Add(dataset.Describe(i));
                        sizes.Add((img.Width, img.Height));
                    }
                    catch (ImageDecodeException e)
                    {
                        skipped.Add(e.Message);
                        Messages.Warning("skipped " + e.Message);
                    }
                }
                if (images.Count > 0)
                {
                    // The progress display's thread allocates too: see FinalizerHold for why libtorch calls need it.
                    using var hold = DinoSharp.Training.FinalizerHold.Begin();
                    using var scope = torch.NewDisposeScope();
                    parts.Add(embedder.Embed(images).MoveToOuterDisposeScope());
                }
                advance(Math.Min(batchSize, n - first));
            }
        }

        if (CommonSettings.Interactive && !quiet)
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"embedding {what}", maxValue: n - start);
                    Work(k => task.Increment(k));
                });
        }
        else
        {
            int done = 0, lastReport = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Work(k =>
            {
                done += k;
                if (!quiet && (done - lastReport >= Math.Max((n - start) / 10, batchSize) || done == n - start))
                {
                    lastReport = done;
                    Console.Error.WriteLine($"embedding {what}: {done}/{n - start} ({done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} images/s)");
                }
            });
        }
        if (parts.Count == 0)
            throw new UserErrorException($"No image of {what} could be embedded ({skipped.Count} skipped).");
        var embeddings = torch.cat(parts, 0);
        Messages.WarnIfDegenerate(embeddings, embedder.Identity.Architecture);
        return new Result(embeddings, labels.ToArray(), paths, sizes, skipped);
    }
}
