namespace DinoSharp.Eval;

/// <summary>One cluster of a <see cref="ClusterSummary"/>.</summary>
/// <param name="Cluster">Cluster index.</param>
/// <param name="Size">Rows assigned to it.</param>
/// <param name="MajorityClass">Most frequent class among its labelled rows (ties: the lowest label), or null when it has none.</param>
/// <param name="MajorityShare">Share of its labelled rows in <see cref="MajorityClass"/>, or null.</param>
/// <param name="Nearest">The rows nearest its centroid, nearest first.</param>
public sealed record ClusterInfo(int Cluster, long Size, string? MajorityClass, double? MajorityShare, IReadOnlyList<ClusterMember> Nearest);
