namespace DinoSharp.Eval;

/// <summary>One image of a cluster listed by <see cref="ClusterSummary"/>: nearest the centroid first.</summary>
/// <param name="Index">Row of the store.</param>
/// <param name="Path">What the row is (a file path or dataset#index).</param>
/// <param name="Cosine">Cosine similarity of the row to its cluster's centroid.</param>
/// <param name="Class">The row's class name, or "" when unlabelled.</param>
public sealed record ClusterMember(long Index, string Path, float Cosine, string Class);
