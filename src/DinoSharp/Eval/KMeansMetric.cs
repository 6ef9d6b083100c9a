namespace DinoSharp.Eval;

/// <summary>Geometry k-means works in.</summary>
public enum KMeansMetric
{
    /// <summary>Squared Euclidean distance, mean centroids (Lloyd).</summary>
    Euclidean,

    /// <summary>Cosine similarity on L2-normalised rows; centroids are re-normalised means (spherical k-means).</summary>
    Cosine,
}
