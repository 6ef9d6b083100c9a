using DinoSharp.Eval;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Eval;

public sealed class SimilaritySearchTests
{
    [Fact]
    public void Query_from_the_store_finds_itself_first()
    {
        using var db = EmbeddingMath.Normalize(torch.randn(5000, 64, generator: new Generator(3)));
        var search = new SimilaritySearch(db, memoryBudgetBytes: 1 << 16);   // forces many chunks and query blocks
        using var queries = db.index_select(0, torch.tensor(new long[] { 0, 17, 4999, 2500 }));
        var hits = search.Search(queries, 5);
        Assert.Equal([0L, 17L, 4999L, 2500L], hits.Select(h => h[0].Index));
        Assert.All(hits, h => Assert.Equal(1f, h[0].Score, 4));
        Assert.All(hits, h => Assert.Equal(5, h.Count));
    }

    [Fact]
    public void Chunked_search_agrees_exactly_with_a_full_matmul()
    {
        using var db = EmbeddingMath.Normalize(torch.randn(3000, 32, generator: new Generator(4)));
        using var queries = EmbeddingMath.Normalize(torch.randn(40, 32, generator: new Generator(5)));
        using var full = queries.matmul(db.t());
        var (refScores, refIdx) = full.topk(10, dim: 1);
        var search = new SimilaritySearch(db, memoryBudgetBytes: 1 << 16);
        using var result = search.SearchTensors(queries, 10);
        Assert.True(result.Indices.equal(refIdx).all().item<bool>());
        Assert.True(result.Scores.allclose(refScores, rtol: 0, atol: 1e-6));
        refScores.Dispose();
        refIdx.Dispose();
    }

    [Fact]
    public void K_is_clamped_to_the_database_size()
    {
        using var db = EmbeddingMath.Normalize(torch.randn(3, 4, generator: new Generator(6)));
        var hits = new SimilaritySearch(db).Search(db, 10);
        Assert.All(hits, h => Assert.Equal(3, h.Count));
        Assert.All(hits, h => Assert.True(h[0].Score >= h[1].Score && h[1].Score >= h[2].Score));
    }
}
