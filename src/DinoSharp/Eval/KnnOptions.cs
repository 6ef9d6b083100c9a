namespace DinoSharp.Eval;

/// <summary>Weighted kNN settings; defaults are those of DINO / DINOv2 (facebookresearch/dinov2, eval/knn.py).</summary>
public sealed record KnnOptions
{
    /// <summary>Neighbour counts evaluated together from one top-max(k) search. DINOv2: 10, 20, 100, 200.</summary>
    public IReadOnlyList<int> Ks { get; init; } = [10, 20, 100, 200];

    /// <summary>Temperature T of the neighbour weights exp(sim / T). DINOv2: 0.07.</summary>
    public double Temperature { get; init; } = 0.07;

    /// <summary>Working-memory bound for the similarity blocks (see <see cref="SimilaritySearch"/>).</summary>
    public long MemoryBudgetBytes { get; init; } = SimilaritySearch.DefaultMemoryBudgetBytes;

    /// <summary>k whose predictions fill the confusion matrix and per-class accuracy; null = the best k.</summary>
    public int? DetailK { get; init; }
}
