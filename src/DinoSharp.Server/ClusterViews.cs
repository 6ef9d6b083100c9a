using System.Collections.Concurrent;
using DinoSharp.Eval;

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

    /// <summary>The library's cluster summary (what <c>dino cluster</c> computes), as the API's response.</summary>
    ClustersResponse Compute(int k, long seed, int restarts, int show)
    {
        var summary = ClusterSummary.Compute(index.Store, new KMeansOptions { Clusters = k, Restarts = restarts, Seed = seed }, show);
        var clusters = summary.Clusters.Select(c => new ClusterResponse(c.Cluster, c.Size, c.MajorityClass, c.MajorityShare,
            c.Nearest.Select((m, j) => new HitResponse(j + 1, m.Cosine, ExplorerApi.Item(index, (int)m.Index))).ToList())).ToList();
        return new ClustersResponse(k, restarts, seed, summary.Inertia, summary.Purity, summary.Nmi, clusters);
    }
}
