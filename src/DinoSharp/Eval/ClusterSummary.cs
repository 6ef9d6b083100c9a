using System.Globalization;
using TorchSharp;

namespace DinoSharp.Eval;

/// <summary>
/// k-means (cosine) on an embedding store, summarised: the clustering's scores against the store's labels (purity
/// and NMI over the labelled rows; null without labels), each cluster's size, majority class and the images nearest
/// its centroid. What <c>dino cluster</c> prints and writes.
/// </summary>
/// <param name="K">Number of clusters.</param>
/// <param name="Inertia">Sum of the rows' distances to their centroids at the best restart.</param>
/// <param name="Converged">Whether the best restart converged.</param>
/// <param name="Purity">Purity against the labels, or null for an unlabelled store.</param>
/// <param name="Nmi">Normalised mutual information against the labels, or null.</param>
/// <param name="Clusters">Each cluster.</param>
/// <param name="Assignments">Cluster of every row.</param>
public sealed record ClusterSummary(int K, double Inertia, bool Converged, double? Purity, double? Nmi, IReadOnlyList<ClusterInfo> Clusters, long[] Assignments)
{
    /// <summary>Clusters the store's embeddings with <paramref name="options"/> (its metric is set to cosine) and summarises them, listing <paramref name="show"/> images per cluster.</summary>
    /// <exception cref="ArgumentOutOfRangeException">More clusters than rows, or <paramref name="show"/> below 1.</exception>
    public static ClusterSummary Compute(EmbeddingStore store, KMeansOptions options, int show)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(show, 1);
        if (options.Clusters > store.Count)
            throw new ArgumentOutOfRangeException(nameof(options), $"k = {options.Clusters}: the store holds only {store.Count} embeddings.");
        var data = store.Embeddings;
        using var result = new KMeans(options with { Metric = KMeansMetric.Cosine }).Fit(data);
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
        string ClassOf(long label) => label < 0 ? "" : label < store.ClassNames.Count ? store.ClassNames[(int)label] : label.ToString(CultureInfo.InvariantCulture);

        float[][] similarity;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var x = EmbeddingMath.Normalize(data);
            similarity = nearest.Select((rows, c) => rows.Length == 0 ? [] :
                x.index_select(0, torch.tensor(rows)).matmul(result.Centroids[c]).data<float>().ToArray()).ToArray();
        }

        var clusters = new List<ClusterInfo>();
        for (int c = 0; c < result.Clusters; c++)
        {
            var members = labelled.Where(i => result.Assignments[i] == c).Select(i => labels[i]).ToList();
            var top = members.Count == 0 ? null : members.GroupBy(x => x).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First();
            clusters.Add(new ClusterInfo(c, sizes[c], top is null ? null : ClassOf(top.Key), top is null ? null : top.Count() / (double)members.Count,
                nearest[c].Select((row, j) => new ClusterMember(row, store.Rows[(int)row].Path, similarity[c][j], ClassOf(store.Rows[(int)row].Label))).ToList()));
        }
        return new ClusterSummary(result.Clusters, result.Inertia, result.Converged, purity, nmi, clusters, result.Assignments);
    }
}
