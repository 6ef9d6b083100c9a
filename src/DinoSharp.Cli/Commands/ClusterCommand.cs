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
        var data = store.Embeddings;
        Messages.WarnIfDegenerate(data, store.Source ?? store.Identity.Architecture);
        using var result = new KMeans(new KMeansOptions { Clusters = k, Restarts = s.Restarts, Seed = s.Seed, Metric = KMeansMetric.Cosine }).Fit(data);
        var nearest = result.NearestToCentroid(data, s.Show);
        var sizes = result.ClusterSizes();

        // Scores against labels, over the labelled rows only.
        var labels = store.Labels;
        var labelled = Enumerable.Range(0, labels.Length).Where(i => labels[i] >= 0).ToArray();
        double? purity = null, nmi = null;
        if (labelled.Length > 0)
        {
            var c = labelled.Select(i => result.Assignments[i]).ToArray();
            var l = labelled.Select(i => labels[i]).ToArray();
            purity = ClusteringMetrics.Purity(c, l);
            nmi = ClusteringMetrics.NormalizedMutualInformation(c, l);
        }
        string ClassOf(long label) => label < 0 ? "" : label < store.ClassNames.Count ? store.ClassNames[(int)label] : label.ToString(CultureInfo.InvariantCulture);
        (string Class, double Share)? Majority(int cluster)
        {
            var members = labelled.Where(i => result.Assignments[i] == cluster).Select(i => labels[i]).ToList();
            if (members.Count == 0) return null;
            var top = members.GroupBy(x => x).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First();
            return (ClassOf(top.Key), top.Count() / (double)members.Count);
        }

        // Cosine of each listed image to its centroid.
        float[][] similarity;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var x = EmbeddingMath.Normalize(data);
            similarity = nearest.Select((rows, c) => rows.Length == 0 ? [] :
                x.index_select(0, torch.tensor(rows)).matmul(result.Centroids[c]).data<float>().ToArray()).ToArray();
        }

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
                inertia = result.Inertia,
                converged = result.Converged,
                purity,
                nmi,
                clusters = Enumerable.Range(0, k).Select(c => new
                {
                    cluster = c,
                    size = sizes[c],
                    majority_class = Majority(c)?.Class,
                    majority_share = Majority(c)?.Share,
                    nearest = nearest[c].Select((row, j) => new { index = row, path = store.Rows[(int)row].Path, cosine = similarity[c][j], @class = ClassOf(store.Rows[(int)row].Label) }),
                }),
                assignments = result.Assignments,
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
            for (int c = 0; c < k; c++)
            {
                if (nearest[c].Length == 0) continue;
                var neighbours = nearest[c].Skip(1).Select((row, j) => new ContactSheetNeighbour(Load(row), similarity[c][j + 1], ClassOf(store.Rows[(int)row].Label))).ToList();
                var sheet = ContactSheet.Render(Load(nearest[c][0]), neighbours,
                    new ContactSheetOptions { TileSize = 112, FontSize = 11, QueryCaption = $"cluster {c} ({sizes[c]})" });
                outputs.AddPng(Path.Combine(s.SheetDir, $"cluster-{c:D2}.png"), sheet);
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
        for (int c = 0; c < k; c++)
        {
            var m = Majority(c);
            table.AddRow(c.ToString(CultureInfo.InvariantCulture), sizes[c].ToString(CultureInfo.InvariantCulture),
                m is { } mm ? Markup.Escape($"{mm.Class} ({mm.Share:P0})") : "",
                Markup.Escape(string.Join(", ", nearest[c].Take(3).Select(r => Path.GetFileName(store.Rows[(int)r].Path)))));
        }
        AnsiConsole.Write(new Rule($"k-means, k = {k}, {store.Count} embeddings: {Markup.Escape(scores)}"));
        AnsiConsole.Write(table);
        foreach (var path in written) Console.WriteLine($"Wrote {path}");
        return CliRunner.Ok;
    }
}
