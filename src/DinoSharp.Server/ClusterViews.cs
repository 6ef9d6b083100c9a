using System.Collections.Concurrent;
using DinoSharp.Eval;
using TorchSharp;

namespace DinoSharp.Server;

/// <summary>k-means (cosine, the library's k-means++ restarts) over the store with purity/NMI against labels, one result per (k, seed, restarts) computed once.</summary>
sealed class ClusterViews(ExplorerIndex index)
{
    readonly ConcurrentDictionary<(int K, long Seed, int Restarts, int Show), Lazy<Task<ClustersResponse>>> results = new();

    /// <summary>The clustering for these settings (computed on first request; concurrent requests share it).</summary>
    public Task<ClustersResponse> Get(int k, long seed, int restarts, int show)
    {
        var store = index.Store;
        if (k > store.Count) throw new BadRequestException($"'k={k}' is more than the {store.Count} indexed images.");
        if (results.Count > 64) results.Clear();
        return results.GetOrAdd((k, seed, restarts, show), key => new Lazy<Task<ClustersResponse>>(() => TorchWork.RunAsync(() => Compute(key.K, key.Seed, key.Restarts, key.Show)))).Value;
    }

    ClustersResponse Compute(int k, long seed, int restarts, int show)
    {
        var store = index.Store;
        var data = store.Embeddings;
        using var result = new KMeans(new KMeansOptions { Clusters = k, Restarts = restarts, Seed = seed, Metric = KMeansMetric.Cosine }).Fit(data);
        var nearest = result.NearestToCentroid(data, show);
        var sizes = result.ClusterSizes();
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
        var x = EmbeddingMath.Normalize(data);
        var clusters = new List<ClusterResponse>();
        for (int c = 0; c < k; c++)
        {
            float[] cosine = nearest[c].Length == 0 ? []
                : x.index_select(0, torch.tensor(nearest[c])).matmul(result.Centroids[c]).data<float>().ToArray();
            var members = labelled.Where(i => result.Assignments[i] == c).Select(i => labels[i]).ToList();
            var top = members.GroupBy(m => m).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).FirstOrDefault();
            clusters.Add(new ClusterResponse(c, sizes[c], top is null ? null : ExplorerApi.ClassOf(store, top.Key),
                top is null ? null : top.Count() / (double)members.Count,
                nearest[c].Select((row, j) => new HitResponse(j + 1, cosine[j], ExplorerApi.Item(index, (int)row))).ToList()));
        }
        return new ClustersResponse(k, restarts, seed, result.Inertia, purity, nmi, clusters);
    }
}
