using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// Exact maximum-inner-product search (cosine similarity on L2-normalised rows) by chunked matrix multiplication.
/// Memory: the database itself, N·D·4 bytes (not copied), plus per query block a score block of Q·chunk·4 bytes and a
/// running top-k of Q·2k·12 bytes. The chunk length is chosen so that the score block and merge buffers fit
/// <see cref="MemoryBudgetBytes"/>; when even 1,024 rows per chunk do not fit for all Q queries at once, the queries
/// are processed in blocks as well. Neighbours with exactly equal scores come back in an unspecified order.
/// </summary>
public sealed class SimilaritySearch
{
    /// <summary>Default working-memory budget for score blocks (256 MiB).</summary>
    public const long DefaultMemoryBudgetBytes = 256L << 20;

    const long MinChunkRows = 1024;

    readonly Tensor database;

    /// <summary>A search over the rows of <paramref name="database"/>.</summary>
    /// <exception cref="ArgumentException">The database is not a float32 matrix.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The budget is below 64 KiB.</exception>
    /// <param name="database">[N, D] float32 rows to search (L2-normalised for cosine similarity); referenced, not copied or owned.</param>
    /// <param name="memoryBudgetBytes">Bound on the working memory for scores, default <see cref="DefaultMemoryBudgetBytes"/>.</param>
    public SimilaritySearch(Tensor database, long memoryBudgetBytes = DefaultMemoryBudgetBytes)
    {
        EmbeddingMath.RequireMatrix(database, nameof(database));
        if (database.dtype != ScalarType.Float32)
            throw new ArgumentException($"Expected a float32 database, got {database.dtype}.", nameof(database));
        ArgumentOutOfRangeException.ThrowIfLessThan(memoryBudgetBytes, 1L << 16);
        this.database = database;
        MemoryBudgetBytes = memoryBudgetBytes;
    }

    /// <summary>Number of database rows N.</summary>
    public long Count => database.shape[0];
    /// <summary>Row width D; queries must have the same.</summary>
    public long Dimension => database.shape[1];
    /// <summary>Bound on the working memory of score blocks and merge buffers, in bytes.</summary>
    public long MemoryBudgetBytes { get; }

    /// <summary>Top-<paramref name="k"/> neighbours of each query row, best first (k is clamped to the database size).</summary>
    public IReadOnlyList<IReadOnlyList<SearchHit>> Search(Tensor queries, int k)
    {
        using var result = SearchTensors(queries, k);
        using var scoresCpu = result.Scores.cpu();
        using var indicesCpu = result.Indices.cpu();
        var scores = scoresCpu.data<float>().ToArray();
        var indices = indicesCpu.data<long>().ToArray();
        int q = (int)result.Scores.shape[0], kk = (int)result.Scores.shape[1];
        var hits = new IReadOnlyList<SearchHit>[q];
        for (int i = 0; i < q; i++)
        {
            var row = new SearchHit[kk];
            for (int j = 0; j < kk; j++) row[j] = new SearchHit(indices[i * kk + j], scores[i * kk + j]);
            hits[i] = row;
        }
        return hits;
    }

    /// <summary>Top-k as tensors on the database's device: scores [Q, k'] and indices [Q, k'], k' = min(k, N).</summary>
    public TopKResult SearchTensors(Tensor queries, int k)
    {
        EmbeddingMath.RequireMatrix(queries, nameof(queries));
        if (queries.shape[1] != Dimension)
            throw new ArgumentException($"Queries have width {queries.shape[1]} but the database has {Dimension}.", nameof(queries));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (Count == 0)
            throw new InvalidOperationException("Cannot search an empty database.");
        return TopK(queries, database, (int)Math.Min(k, Count), MemoryBudgetBytes);
    }

    /// <summary>Bytes a search needs besides the database: the score block plus merge buffers.</summary>
    public static long WorkingBytes(long queries, long chunkRows, int k) => queries * chunkRows * 4 + queries * 2L * k * 12;

    /// <summary>Chunked exact top-k of queries·databaseᵀ; k must already be ≤ N.</summary>
    internal static TopKResult TopK(Tensor queries, Tensor database, int k, long budgetBytes)
    {
        long n = database.shape[0], q = queries.shape[0];
        var (queryBlock, chunk) = Plan(q, n, k, budgetBytes);
        using var _ = torch.inference_mode();
        using var outer = torch.NewDisposeScope();
        using var qs = queries.to(ScalarType.Float32, database.device);
        var scoreParts = new List<Tensor>();
        var indexParts = new List<Tensor>();
        for (long q0 = 0; q0 < q; q0 += queryBlock)
        {
            using var qb = qs.narrow(0, q0, Math.Min(queryBlock, q - q0));
            Tensor? best = null, bestIdx = null;
            for (long start = 0; start < n; start += chunk)
            {
                using var scope = torch.NewDisposeScope();
                long len = Math.Min(chunk, n - start);
                var scores = qb.matmul(database.narrow(0, start, len).t());                 // [q, len]
                var (vals, idx) = scores.topk((int)Math.Min(k, len), dim: 1, largest: true, sorted: true);
                idx = idx.add(start);
                if (best is not null)
                {
                    var allVals = torch.cat([best, vals], 1);                                 // [q, ≤2k]
                    var allIdx = torch.cat([bestIdx!, idx], 1);
                    var (mv, pos) = allVals.topk(k, dim: 1, largest: true, sorted: true);
                    vals = mv;
                    idx = allIdx.gather(1, pos);
                    best.Dispose();
                    bestIdx!.Dispose();
                }
                best = vals.MoveToOuterDisposeScope();
                bestIdx = idx.MoveToOuterDisposeScope();
            }
            scoreParts.Add(best!);
            indexParts.Add(bestIdx!);
        }
        var allScores = scoreParts.Count == 1 ? scoreParts[0] : torch.cat(scoreParts, 0);
        var allIndices = indexParts.Count == 1 ? indexParts[0] : torch.cat(indexParts, 0);
        return new TopKResult(allScores.MoveToOuterDisposeScope(), allIndices.MoveToOuterDisposeScope());
    }

    static (long QueryBlock, long Chunk) Plan(long q, long n, int k, long budget)
    {
        long minChunk = Math.Min(n, Math.Max(MinChunkRows, k));
        long queryBlock = Math.Max(1, Math.Min(q, budget / (4 * minChunk + 24L * k)));
        long chunk = Math.Clamp((budget - queryBlock * 24L * k) / (4 * queryBlock), minChunk, n);
        return (queryBlock, chunk);
    }
}
