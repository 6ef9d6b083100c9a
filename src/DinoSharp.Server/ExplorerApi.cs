using System.Globalization;
using DinoSharp.Data;
using DinoSharp.Eval;

namespace DinoSharp.Server;

/// <summary>The explorer's HTTP API: every handler validates its parameters (400 with a message), names images by row number only, and runs libtorch work inside <see cref="TorchWork"/>.</summary>
static class ExplorerApi
{
    const int MaxTop = 200;
    const int MaxPage = 500;
    const int MaxPatchSize = 1024;

    /// <summary>Maps the API routes onto <paramref name="app"/>.</summary>
    public static void Map(WebApplication app, ExplorerIndex index, ExplorerOptions options)
    {
        var clusters = new ClusterViews(index);
        var duplicates = new DuplicateFinder(index);

        app.MapGet("/api/status", () => Status(index));
        app.MapGet("/api/items", (HttpRequest r) =>
        {
            var store = Ready(index).Store;
            int offset = QueryArgs.Int(r, "offset", 0, 0, int.MaxValue);
            int limit = QueryArgs.Int(r, "limit", 60, 1, MaxPage);
            var items = Enumerable.Range(offset, (int)Math.Clamp(store.Count - offset, 0, limit)).Select(i => Item(index, i)).ToList();
            return new ItemsResponse((int)store.Count, offset, items);
        });
        app.MapGet("/api/thumb/{row}", (string row) =>
        {
            int i = QueryArgs.Row(row, Ready(index).Store.Count);
            return Results.Bytes(Decoded(() => index.Images.Thumbnail(i)), "image/png");
        });
        app.MapGet("/api/image/{row}", (string row, HttpRequest r) =>
        {
            int i = QueryArgs.Row(row, Ready(index).Store.Count);
            int? size = QueryArgs.OptionalInt(r, "size", 16, MaxPatchSize);
            var image = Decoded(() => index.Images.Load(i));
            // With a size: stretched to size × size, aligned with the patch grid of that size.
            var shown = size is { } s ? Visualize.Png.Resize(image, s, s, smooth: true) : PngBytes.Fit(image, 1024);
            return Results.Bytes(PngBytes.Encode(shown), "image/png");
        });
        app.MapGet("/api/search", async (HttpRequest r) =>
        {
            var store = Ready(index).Store;
            int row = QueryArgs.Int(r, "index", null, 0, (int)store.Count - 1);
            int k = QueryArgs.Int(r, "k", 10, 1, MaxTop);
            var hits = await TorchWork.RunAsync(() =>
            {
                using var query = store.Embeddings.narrow(0, row, 1);
                return index.Search.Search(query, k)[0];
            });
            return new SearchResponse(row, index.Images.Name(row), Hits(index, hits));
        });
        app.MapPost("/api/search", async (HttpRequest r) =>
        {
            Ready(index);
            int k = QueryArgs.Int(r, "k", 10, 1, MaxTop);
            byte[] bytes = await Upload.ReadAsync(r, options.MaxUploadBytes);
            string name = string.IsNullOrWhiteSpace(r.Query["name"]) ? "upload" : Path.GetFileName(r.Query["name"].ToString());
            RgbImage image;
            try { image = ImageDecoder.Decode(bytes, name, options.MaxUploadPixels); }
            catch (ImageDecodeException e) { throw new BadRequestException(ExplorerIndex.OneLine(e.Message)); }
            // The same computation as `dino search --query <file>`: the image embedded alone, then the chunked search.
            var hits = await TorchWork.RunAsync(() =>
            {
                using var query = index.Embedder.Embed([image]);
                return index.Search.Search(query, k)[0];
            });
            return new SearchResponse(null, name, Hits(index, hits));
        });
        app.MapGet("/api/duplicates", async (HttpRequest r) =>
        {
            Ready(index);
            double threshold = QueryArgs.Double(r, "threshold", 0.95, -1, 1);
            int limit = QueryArgs.Int(r, "limit", 100, 1, 1000);
            return await duplicates.Find(threshold, limit);
        });
        app.MapGet("/api/clusters", async (HttpRequest r) =>
        {
            Ready(index);
            int k = QueryArgs.Int(r, "k", 8, 1, 1000);
            long seed = QueryArgs.Int(r, "seed", 0, 0, int.MaxValue);
            int restarts = QueryArgs.Int(r, "restarts", 3, 1, 50);
            int show = QueryArgs.Int(r, "show", 8, 1, 64);
            return await clusters.Get(k, seed, restarts, show);
        });
        app.MapGet("/api/patches", async (HttpRequest r) =>
        {
            var store = Ready(index).Store;
            var (a, b, size) = PatchArgs(r, index, store);
            var gridA = await TorchWork.RunAsync(() => Decoded(() => index.Patches.Grid(a, index.Images, size)));
            int row = QueryArgs.Int(r, "row", gridA.Height / 2, 0, gridA.Height - 1);
            int col = QueryArgs.Int(r, "col", gridA.Width / 2, 0, gridA.Width - 1);
            var gridB = b is { } bb ? await TorchWork.RunAsync(() => Decoded(() => index.Patches.Grid(bb, index.Images, size))) : null;
            return new PatchesResponse(size, gridA.Height, gridA.Width, row, col, a, b, gridA.SimilarityTo(gridA, row, col), gridB?.SimilarityTo(gridA, row, col));
        });
        app.MapGet("/api/pca", async (HttpRequest r) =>
        {
            var store = Ready(index).Store;
            var (a, b, size) = PatchArgs(r, index, store);
            // Fitted jointly over A and B (when given), so equal colours mean similar features in both; the picture is A's.
            var image = await TorchWork.RunAsync(() =>
            {
                var grids = new List<PatchGrid> { Decoded(() => index.Patches.Grid(a, index.Images, size)) };
                if (b is { } bb) grids.Add(Decoded(() => index.Patches.Grid(bb, index.Images, size)));
                return PatchFeatures.Pca(grids)[QueryArgs.Int(r, "which", 0, 0, grids.Count - 1)];
            });
            return Results.Bytes(PngBytes.Encode(image), "image/png");
        });
        app.MapGet("/api/attention", async (HttpRequest r) =>
        {
            var store = Ready(index).Store;
            var (a, _, size) = PatchArgs(r, index, store);
            var picture = await TorchWork.RunAsync(() => index.Patches.Attention(Decoded(() => index.Images.Load(a)), size));
            return Results.Bytes(PngBytes.Encode(picture), "image/png");
        });
    }

    static (int A, int? B, int Size) PatchArgs(HttpRequest r, ExplorerIndex index, EmbeddingStore store)
    {
        if (index.Patches.Unavailable is { } why) throw new BadRequestException(why, StatusCodes.Status409Conflict);
        int a = QueryArgs.Int(r, "a", null, 0, (int)store.Count - 1);
        int? b = QueryArgs.OptionalInt(r, "b", 0, (int)store.Count - 1);
        int size = QueryArgs.Int(r, "size", index.Patches.DefaultSize, index.Patches.PatchSize, MaxPatchSize);
        index.Patches.CheckSize(size);
        return (a, b, size);
    }

    static StatusResponse Status(ExplorerIndex index)
    {
        bool ready = index.Phase == ExplorerPhase.Ready;
        var store = ready ? index.Store : null;
        return new StatusResponse(index.Phase.ToString().ToLowerInvariant(), index.Done, index.Total, index.Skipped, index.Message, index.StorePath,
            index.Embedder.Identity.ToString(), store?.HasLabels ?? false, store?.ClassNames ?? [],
            index.Patches.Unavailable, index.Patches.AttentionUnavailable, index.Patches.PatchSize, index.Patches.DefaultSize);
    }

    static ExplorerIndex Ready(ExplorerIndex index) => index.Phase switch
    {
        ExplorerPhase.Ready => index,
        ExplorerPhase.Failed => throw new BadRequestException($"the index could not be built: {index.Message}", StatusCodes.Status503ServiceUnavailable),
        _ => throw new BadRequestException($"the index is not ready yet ({index.Message}).", StatusCodes.Status503ServiceUnavailable),
    };

    /// <summary>An indexed image that can no longer be decoded is the server's data problem, reported as 422 with the decoder's message.</summary>
    static T Decoded<T>(Func<T> load)
    {
        try { return load(); }
        catch (ImageDecodeException e) { throw new BadRequestException(ExplorerIndex.OneLine(e.Message), StatusCodes.Status422UnprocessableEntity); }
    }

    static List<HitResponse> Hits(ExplorerIndex index, IReadOnlyList<SearchHit> hits) =>
        hits.Select((h, r) => new HitResponse(r + 1, h.Score, Item(index, (int)h.Index))).ToList();

    /// <summary>Row <paramref name="row"/> as lists show it.</summary>
    public static ItemResponse Item(ExplorerIndex index, int row)
    {
        var r = index.Store.Rows[row];
        return new ItemResponse(row, index.Images.Name(row), r.Path, r.Label >= 0 ? r.Label : null, r.Label >= 0 ? ClassOf(index.Store, r.Label) : null);
    }

    /// <summary>The class name of a label (its number when the store has no names).</summary>
    public static string ClassOf(EmbeddingStore store, long label) =>
        label < store.ClassNames.Count ? store.ClassNames[(int)label] : label.ToString(CultureInfo.InvariantCulture);
}
