namespace DinoSharp.Eval;

/// <summary>k-means settings; defaults follow scikit-learn's KMeans where it has one.</summary>
public sealed record KMeansOptions
{
    /// <summary>Number of clusters K.</summary>
    public required int Clusters { get; init; }

    /// <summary>Independent k-means++ starts; the run with the lowest inertia is kept (scikit-learn n_init: 10).</summary>
    public int Restarts { get; init; } = 10;

    /// <summary>Lloyd iterations per start at most (scikit-learn: 300).</summary>
    public int MaxIterations { get; init; } = 300;

    /// <summary>
    /// Stop when the summed squared centroid shift is at most Tolerance × the mean per-feature variance of the data
    /// (scikit-learn's relative tolerance, default 1e-4).
    /// </summary>
    public double Tolerance { get; init; } = 1e-4;

    /// <summary>Euclidean (scikit-learn's only geometry) or Cosine (spherical k-means, for L2-normalised embeddings).</summary>
    public KMeansMetric Metric { get; init; } = KMeansMetric.Euclidean;

    /// <summary>Seeds every k-means++ initialisation.</summary>
    public long Seed { get; init; }

    /// <summary>Working-memory bound for the [rows, K] distance blocks.</summary>
    public long MemoryBudgetBytes { get; init; } = SimilaritySearch.DefaultMemoryBudgetBytes;
}
