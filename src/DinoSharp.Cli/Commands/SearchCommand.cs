using System.ComponentModel;
using System.Globalization;
using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;
using DinoSharp.Visualize;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Cli.Commands;

internal sealed class SearchCommand : Command<SearchCommand.Settings>
{
    /// <summary>Queries printed as tables and drawn as sheets at most (the JSON holds all).</summary>
    const int MaxShownQueries = 10;

    public sealed class Settings : ModelSettings
    {
        [CommandOption("--store <STORE>")]
        [Description("Embedding store made by `dino embed` (path without extension, or the .safetensors / .json file).")]
        public string Store { get; init; } = "";

        [CommandOption("--query <IMAGE|DATASET>")]
        [Description("An image file, one image of a dataset (fashion-mnist:test#12, as stores list them), or a dataset string / folder: every image of it is a query.")]
        public string Query { get; init; } = "";

        [CommandOption("--top <K>")]
        [Description("Neighbours per query (default 5).")]
        public int Top { get; init; } = 5;

        [CommandOption("--json <FILE>")]
        [Description("Also write every query's neighbours as JSON.")]
        public string? Json { get; init; }

        [CommandOption("--sheet <PNG>")]
        [Description("Contact sheet: the query left, its neighbours right (with several queries: <name>-1.png, … for the first 10).")]
        public string? Sheet { get; init; }

        [CommandOption("--tile <PX>")]
        [Description("Contact-sheet cell size in pixels (default 160).")]
        public int Tile { get; init; } = 160;
    }

    sealed record Query(string Path, RgbImage? Image);

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.Store) || string.IsNullOrWhiteSpace(s.Query))
            throw new UserErrorException("--store and --query are required, e.g. dino search --store stores/test --query shoe.png --top 5.");
        if (s.Top <= 0) throw new UserErrorException($"--top {s.Top}: must be a positive number of neighbours.");
        if (s.Tile < 16) throw new UserErrorException($"--tile {s.Tile}: must be at least 16 pixels.");
        OutputPath.CheckFile("--json", s.Json);
        OutputPath.CheckFile("--sheet", s.Sheet);

        using var store = EmbeddingStore.Open(s.Store);
        if (store.Count == 0) throw new UserErrorException($"{store.BasePath}: the store is empty.");
        string model = !string.IsNullOrWhiteSpace(s.Model) ? s.Model
            : store.Source ?? throw new UserErrorException($"{store.BasePath} does not record the model it was embedded with; name it with --model.");
        int rawSize = store.Rows[0].Width > 0 ? store.Rows[0].Width : 28;
        using var embedder = s.OpenModel(rawSize, store.Identity.FeatureKind, model, store.Identity.Precision);
        if (embedder.Identity != store.Identity)
            throw new UserErrorException($"{store.BasePath} holds embeddings of {store.Identity}, but --model {model} gives {embedder.Identity}; " +
                "use the model (and --features / --image-size) the store was embedded with.");

        // Queries: one image file, or every image of a dataset.
        Tensor queries;
        List<Query> queryList;
        if (File.Exists(s.Query) || IsDatasetImage(s.Query))
        {
            var image = new DescribedImageLoader().Load(s.Query);
            queries = embedder.Embed([image]);
            queryList = [new Query(s.Query, image)];
        }
        else
        {
            IImageDataset dataset;
            try { dataset = DatasetSpec.Open(s.Query); }
            catch (ArgumentException) { throw new UserErrorException($"--query {s.Query}: no such image file, and not a dataset ({DatasetSpec.AcceptedForms})."); }
            var embedded = DatasetEmbedding.Embed(embedder, dataset, s.BatchSize, s.Quiet, s.Query);
            queries = embedded.Embeddings;
            queryList = embedded.Paths.Select(p => new Query(p, null)).ToList();
        }

        IReadOnlyList<IReadOnlyList<SearchHit>> hits;
        using (queries)
            hits = new SimilaritySearch(store.Embeddings).Search(queries, s.Top);

        string? ClassOf(long label) => label < 0 ? null
            : label < store.ClassNames.Count ? store.ClassNames[(int)label] : label.ToString(CultureInfo.InvariantCulture);

        var outputs = new OutputFiles();
        if (s.Json is not null)
        {
            outputs.AddJson(s.Json, new
            {
                store = Path.GetFullPath(store.BasePath),
                model = embedder.Identity.ToString(),
                top = s.Top,
                queries = queryList.Select((q, i) => new
                {
                    query = q.Path,
                    hits = hits[i].Select((h, r) => new
                    {
                        rank = r + 1,
                        score = h.Score,
                        index = h.Index,
                        path = store.Rows[(int)h.Index].Path,
                        label = store.Rows[(int)h.Index].Label >= 0 ? store.Rows[(int)h.Index].Label : (long?)null,
                        @class = ClassOf(store.Rows[(int)h.Index].Label),
                    }),
                }),
            });
        }
        if (s.Sheet is not null)
        {
            var loader = new DescribedImageLoader();
            RgbImage LoadOrPlaceholder(string path)
            {
                try { return loader.Load(path); }
                catch (ImageDecodeException e)
                {
                    Messages.Warning($"contact sheet shows a grey tile for {path}: {e.Message}");
                    return Placeholder;
                }
            }
            int sheets = Math.Min(queryList.Count, MaxShownQueries);
            for (int i = 0; i < sheets; i++)
            {
                var query = queryList[i].Image ?? LoadOrPlaceholder(queryList[i].Path);
                var neighbours = hits[i].Select(h => new ContactSheetNeighbour(
                    LoadOrPlaceholder(store.Rows[(int)h.Index].Path), h.Score, ClassOf(store.Rows[(int)h.Index].Label))).ToList();
                var sheet = ContactSheet.Render(query, neighbours, new ContactSheetOptions { TileSize = s.Tile, FontSize = Math.Max(10, s.Tile / 12f) });
                outputs.AddPng(queryList.Count == 1 ? s.Sheet : NumberedPath(s.Sheet, i + 1), sheet);
            }
        }
        var written = outputs.Commit();

        if (s.Quiet)
        {
            foreach (var (q, i) in queryList.Select((q, i) => (q, i)))
                Console.WriteLine(q.Path + "\t" + string.Join("\t", hits[i].Select(h => $"{store.Rows[(int)h.Index].Path}:{h.Score.ToString("F4", CultureInfo.InvariantCulture)}")));
            return CliRunner.Ok;
        }
        for (int i = 0; i < Math.Min(queryList.Count, MaxShownQueries); i++)
        {
            var table = new Table().AddColumn("rank").AddColumn("score").AddColumn("path").AddColumn("label");
            for (int r = 0; r < hits[i].Count; r++)
            {
                var row = store.Rows[(int)hits[i][r].Index];
                table.AddRow((r + 1).ToString(CultureInfo.InvariantCulture), hits[i][r].Score.ToString("F4", CultureInfo.InvariantCulture),
                    Markup.Escape(row.Path), Markup.Escape(ClassOf(row.Label) ?? ""));
            }
            AnsiConsole.MarkupLine($"[bold]neighbours[/] of {Markup.Escape(queryList[i].Path)}");
            AnsiConsole.Write(table);
        }
        if (queryList.Count > MaxShownQueries)
            Console.WriteLine($"… {queryList.Count - MaxShownQueries} more queries" + (s.Json is null ? " (use --json to keep them all)." : $" in {s.Json}."));
        foreach (var path in written) Console.WriteLine($"Wrote {path}");
        return CliRunner.Ok;
    }

    static bool IsDatasetImage(string query) =>
        query.LastIndexOf('#') is int hash and > 0 && hash < query.Length - 1 && query[(hash + 1)..].All(char.IsAsciiDigit);

    static readonly RgbImage Placeholder = new(8, 8, Enumerable.Repeat((byte)160, 8 * 8 * 3).ToArray());

    static string NumberedPath(string path, int n) =>
        Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}-{n}{Path.GetExtension(path)}");
}
