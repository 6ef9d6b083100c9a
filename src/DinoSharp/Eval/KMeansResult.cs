using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>A fitted clustering. Owns <see cref="Centroids"/>; dispose it when done.</summary>
/// <param name="Centroids">[K, D] float32 on the data's device (unit length for <see cref="KMeansMetric.Cosine"/>).</param>
/// <param name="Assignments">Cluster index per data row.</param>
/// <param name="Inertia">Σ squared distance to the own centroid (Euclidean) or Σ (1 − cosine) (Cosine).</param>
/// <param name="Iterations">Lloyd iterations of the kept start.</param>
/// <param name="Converged">Whether the kept start met the tolerance before MaxIterations.</param>
/// <param name="Metric">Geometry used.</param>
public sealed record KMeansResult(Tensor Centroids, long[] Assignments, double Inertia, int Iterations, bool Converged, KMeansMetric Metric)
    : IDisposable
{
    /// <summary>Number of clusters K (rows of <see cref="Centroids"/>).</summary>
    public int Clusters => (int)Centroids.shape[0];

    /// <summary>Rows per cluster.</summary>
    public long[] ClusterSizes()
    {
        var sizes = new long[Clusters];
        foreach (var a in Assignments) sizes[a]++;
        return sizes;
    }

    /// <summary>
    /// For each cluster, the indices of up to <paramref name="n"/> of its own rows closest to its centroid, closest first.
    /// <paramref name="data"/> must be the rows that were clustered.
    /// </summary>
    public long[][] NearestToCentroid(Tensor data, int n)
    {
        EmbeddingMath.RequireMatrix(data, nameof(data));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        if (data.shape[0] != Assignments.Length || data.shape[1] != Centroids.shape[1])
            throw new ArgumentException($"Expected the clustered data [{Assignments.Length}, {Centroids.shape[1]}], got [{string.Join(", ", data.shape)}].", nameof(data));
        float[] distance;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var x = Metric == KMeansMetric.Cosine ? EmbeddingMath.Normalize(data) : data.to(ScalarType.Float32);
            var own = Centroids[torch.tensor(Assignments, device: Centroids.device)];    // [N, D]
            var d = Metric == KMeansMetric.Cosine ? 1 - (x * own).sum(1) : (x - own).square().sum(1);
            using var cpu = d.cpu();
            distance = cpu.data<float>().ToArray();
        }
        return Enumerable.Range(0, Clusters)
            .Select(c => Enumerable.Range(0, Assignments.Length).Where(i => Assignments[i] == c)
                .OrderBy(i => distance[i]).ThenBy(i => i).Take(n).Select(i => (long)i).ToArray())
            .ToArray();
    }

    /// <summary>Frees <see cref="Centroids"/>.</summary>
    public void Dispose() => Centroids.Dispose();
}
