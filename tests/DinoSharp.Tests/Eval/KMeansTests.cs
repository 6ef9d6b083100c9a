using DinoSharp.Eval;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Eval;

public sealed class KMeansTests
{
    static (Tensor X, long[] Labels) Blobs(int clusters, int perCluster, int dim, double spread, long seed)
    {
        var g = new Generator((ulong)seed);
        using var centres = torch.randn(clusters, dim, generator: g) * spread;
        using var labels = torch.arange(clusters * perCluster, ScalarType.Int64) % clusters;
        var x = centres[labels] + torch.randn(clusters * perCluster, dim, generator: g);
        return (x, labels.data<long>().ToArray());
    }

    [Theory]
    [InlineData(KMeansMetric.Euclidean)]
    [InlineData(KMeansMetric.Cosine)]
    public void Recovers_well_separated_blobs(KMeansMetric metric)
    {
        var (x, labels) = Blobs(5, 80, 16, spread: 10, seed: 21);
        using var _ = x;
        using var result = new KMeans(new KMeansOptions { Clusters = 5, Seed = 3, Metric = metric }).Fit(x);
        Assert.Equal(1.0, ClusteringMetrics.Purity(result.Assignments, labels));
        Assert.Equal(1.0, ClusteringMetrics.NormalizedMutualInformation(result.Assignments, labels), 9);
        Assert.Equal(Enumerable.Repeat(80L, 5), result.ClusterSizes());
        Assert.True(result.Converged);
        Assert.Equal([5L, 16L], result.Centroids.shape);
    }

    [Fact]
    public void Same_seed_same_clustering_and_restarts_never_increase_inertia()
    {
        var (x, _) = Blobs(8, 30, 8, spread: 2, seed: 22);   // overlapping: the start matters
        using var __ = x;
        using var one = new KMeans(new KMeansOptions { Clusters = 8, Seed = 4, Restarts = 1 }).Fit(x);
        using var oneAgain = new KMeans(new KMeansOptions { Clusters = 8, Seed = 4, Restarts = 1 }).Fit(x);
        using var many = new KMeans(new KMeansOptions { Clusters = 8, Seed = 4, Restarts = 8 }).Fit(x);
        Assert.Equal(one.Assignments, oneAgain.Assignments);
        Assert.Equal(one.Inertia, oneAgain.Inertia);
        Assert.True(many.Inertia <= one.Inertia + 1e-6, $"{many.Inertia} > {one.Inertia}");
        // Inertia is the sum of squared distances to the assigned centroid.
        using var own = many.Centroids[torch.tensor(many.Assignments)];
        Assert.Equal((x - own).square().sum().item<float>(), many.Inertia, 0.01);
    }

    [Fact]
    public void Nearest_to_centroid_lists_own_members_closest_first()
    {
        var (x, _) = Blobs(3, 20, 4, spread: 8, seed: 23);
        using var _ = x;
        using var result = new KMeans(new KMeansOptions { Clusters = 3, Seed = 1 }).Fit(x);
        var nearest = result.NearestToCentroid(x, 5);
        Assert.Equal(3, nearest.Length);
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(5, nearest[c].Length);
            Assert.All(nearest[c], i => Assert.Equal(c, result.Assignments[i]));
            var d = nearest[c].Select(i => (x[i] - result.Centroids[c]).square().sum().item<float>()).ToArray();
            Assert.Equal(d.Order(), d);
            using var members = torch.tensor(Enumerable.Range(0, 60).Where(i => result.Assignments[i] == c).Select(i => (long)i).ToArray());
            float min = (x[members] - result.Centroids[c]).square().sum(1).min().item<float>();
            Assert.Equal(min, d[0], 5);
        }
    }

    [Fact]
    public void Metrics_match_scikit_learn_reference_values()
    {
        // sklearn.metrics.normalized_mutual_info_score (average_method="arithmetic").
        Assert.Equal(0.8, ClusteringMetrics.NormalizedMutualInformation([0, 0, 1, 2], [0, 0, 1, 1]), 12);
        Assert.Equal(1.0, ClusteringMetrics.NormalizedMutualInformation([1, 1, 0, 0], [0, 0, 1, 1]), 12);
        Assert.Equal(0.0, ClusteringMetrics.NormalizedMutualInformation([0, 1, 2, 3], [0, 0, 0, 0]));
        Assert.Equal(1.0, ClusteringMetrics.NormalizedMutualInformation([5, 5, 5], [2, 2, 2]));
        Assert.Equal(1.0, ClusteringMetrics.Purity([0, 0, 1, 2], [0, 0, 1, 1]));
        Assert.Equal(0.5, ClusteringMetrics.Purity([0, 0, 0, 0], [0, 0, 1, 1]));
        Assert.Equal(4.0 / 6, ClusteringMetrics.Purity([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]), 12);
    }
}
