using System.ComponentModel;
using System.Globalization;
using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Visualize;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;

namespace DinoSharp.Cli.Commands;

internal sealed class ClusterCommand : Command<ClusterCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--store <STORE>")]
        [Description("Embedding store made by `dino embed`.")]
        public string Store { get; init; } = "";

        // `--k` is rewritten to `--ks` before parsing (see DinoApp), so both spellings reach this option.
        [CommandOption("--ks|--clusters <N>")]
        [Description("Number of clusters (also spelled --k).")]
        public int? Clusters { get; init; }

        [CommandOption("--restarts <R>")]
        [Description("k-means++ starts; the lowest inertia is kept (default 10).")]
        public int Restarts { get; init; } = 10;

        [CommandOption("--seed <N>")]
        [Description("Seed of the k-means++ initialisations (default 0).")]
        public long Seed { get; init; }

        [CommandOption("--show <N>")]
        [Description("Images nearest each centroid to list and draw (default 8).")]
        public int Show { get; init; } = 8;

        [CommandOption("--json <FILE>")]
        [Description("Also write the clustering (scores, sizes, nearest images, every row's cluster) as JSON.")]
        public string? Json { get; init; }

        [CommandOption("--sheet-dir <DIR>")]
        [Description("Write one PNG per cluster: the image nearest the centroid, then the next nearest with their cosine to it.")]
        public string? SheetDir { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.Store))
            throw new UserErrorException("--store is required, e.g. dino cluster --store stores/test --k 10.");
        if (s.Clusters is not { } k) throw new UserErrorException("--k is required: the number of clusters, e.g. --k 10.");
        if (k <= 0) throw new UserErrorException($"--k {k}: must be a positive number of clusters.");
        if (s.Restarts <= 0) throw new UserErrorException($"--restarts {s.Restarts}: must be at least 1.");
        if (s.Show <= 0) throw new UserErrorException($"--show {s.Show}: must be at least 1.");
        OutputPath.CheckFile("--json", s.Json);
        OutputPath.CheckFolder("--sheet-dir", s.SheetDir);
        s.ApplyThreads();

        using var store = EmbeddingStore.Open(s.Store);
        if (k > store.Count) throw new UserErrorException($"--k {k}: the store holds only {store.Count} embeddings.");
        Messages.WarnIfDegenerate(store.Embeddings, store.Source ?? store.Identity.Architecture);
        var summary = ClusterSummary.Compute(store, new KMeansOptions { Clusters = k, Restarts = s.Restarts, Seed = s.Seed }, s.Show);
        var (purity, nmi) = (summary.Purity, summary.Nmi);

        var outputs = new OutputFiles();
        if (s.Json is not null)
        {
            outputs.AddJson(s.Json, new
            {
                store = Path.GetFullPath(store.BasePath),
                model = store.Identity.ToString(),
                k,
                restarts = s.Restarts,
                metric = "cosine",
                inertia = summary.Inertia,
                converged = summary.Converged,
                purity,
                nmi,
                clusters = summary.Clusters.Select(c => new
                {
                    cluster = c.Cluster,
                    size = c.Size,
                    majority_class = c.MajorityClass,
                    majority_share = c.MajorityShare,
                    nearest = c.Nearest.Select(m => new { index = m.Index, path = m.Path, cosine = m.Cosine, @class = m.Class }),
                }),
                assignments = summary.Assignments,
            });
        }
        if (s.SheetDir is not null)
        {
            var loader = new DescribedImageLoader();
            RgbImage Load(long row)
            {
                string path = store.Rows[(int)row].Path;
                try { return loader.Load(path); }
                catch (ImageDecodeException e)
                {
                    Messages.Warning($"cluster sheet shows a grey tile for {path}: {e.Message}");
                    return new RgbImage(8, 8, Enumerable.Repeat((byte)160, 8 * 8 * 3).ToArray());
                }
            }
            foreach (var c in summary.Clusters)
            {
                if (c.Nearest.Count == 0) continue;
                var neighbours = c.Nearest.Skip(1).Select(m => new ContactSheetNeighbour(Load(m.Index), m.Cosine, m.Class)).ToList();
                var sheet = ContactSheet.Render(Load(c.Nearest[0].Index), neighbours,
                    new ContactSheetOptions { TileSize = 112, FontSize = 11, QueryCaption = $"cluster {c.Cluster} ({c.Size})" });
                outputs.AddPng(Path.Combine(s.SheetDir, $"cluster-{c.Cluster:D2}.png"), sheet);
            }
        }
        var written = outputs.Commit();

        string scores = purity is null ? "no labels: purity and NMI not computed"
            : $"purity {purity.Value.ToString("F4", CultureInfo.InvariantCulture)}, NMI {nmi!.Value.ToString("F4", CultureInfo.InvariantCulture)}";
        if (s.Quiet)
        {
            Console.WriteLine(scores);
            return CliRunner.Ok;
        }
        var table = new Table().AddColumn("cluster").AddColumn("size").AddColumn("majority class").AddColumn("nearest the centroid");
        foreach (var c in summary.Clusters)
        {
            table.AddRow(c.Cluster.ToString(CultureInfo.InvariantCulture), c.Size.ToString(CultureInfo.InvariantCulture),
                c.MajorityClass is { } name ? Markup.Escape($"{name} ({c.MajorityShare:P0})") : "",
                Markup.Escape(string.Join(", ", c.Nearest.Take(3).Select(m => Path.GetFileName(m.Path)))));
        }
        AnsiConsole.MarkupLine($"[bold]k-means[/], k = {k}, {store.Count} embeddings: {Markup.Escape(scores)}");
        AnsiConsole.Write(table);
        foreach (var path in written) Console.WriteLine($"Wrote {path}");
        return CliRunner.Ok;
    }
}
