namespace DinoSharp.Eval;

/// <summary>External clustering scores against ground-truth labels.</summary>
public static class ClusteringMetrics
{
    /// <summary>Purity: Σ over clusters of the count of its most frequent label, over N. 1.0 = every cluster is pure.</summary>
    public static double Purity(long[] clusters, long[] labels)
    {
        var table = Contingency(clusters, labels, out long n);
        if (n == 0) return double.NaN;
        return (double)table.GroupBy(kv => kv.Key.Cluster).Sum(g => g.Max(kv => kv.Value)) / n;
    }

    /// <summary>
    /// Normalised mutual information with arithmetic-mean normalisation, MI / ((H(clusters) + H(labels)) / 2), natural
    /// logarithms — scikit-learn's normalized_mutual_info_score default, including its edge cases: 1.0 when both
    /// sides have a single class, 0.0 when the mutual information is 0.
    /// </summary>
    public static double NormalizedMutualInformation(long[] clusters, long[] labels)
    {
        var table = Contingency(clusters, labels, out long n);
        if (n == 0) return double.NaN;
        var clusterTotals = table.GroupBy(kv => kv.Key.Cluster).ToDictionary(g => g.Key, g => (double)g.Sum(kv => kv.Value));
        var labelTotals = table.GroupBy(kv => kv.Key.Label).ToDictionary(g => g.Key, g => (double)g.Sum(kv => kv.Value));
        if (clusterTotals.Count == 1 && labelTotals.Count == 1) return 1.0;

        double mi = 0;
        foreach (var ((c, l), count) in table)
            mi += count / (double)n * Math.Log(n * (double)count / (clusterTotals[c] * labelTotals[l]));
        mi = Math.Max(mi, 0);   // rounding can leave a tiny negative
        if (mi == 0) return 0.0;
        double hc = Entropy(clusterTotals.Values, n), hl = Entropy(labelTotals.Values, n);
        return mi / Math.Max((hc + hl) / 2, double.Epsilon);
    }

    static double Entropy(IEnumerable<double> totals, long n) => -totals.Sum(t => t / n * Math.Log(t / n));

    static Dictionary<(long Cluster, long Label), long> Contingency(long[] clusters, long[] labels, out long n)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(labels);
        if (clusters.Length != labels.Length)
            throw new ArgumentException($"Got {clusters.Length} cluster assignments for {labels.Length} labels.", nameof(clusters));
        var table = new Dictionary<(long, long), long>();
        for (int i = 0; i < clusters.Length; i++)
            table[(clusters[i], labels[i])] = table.GetValueOrDefault((clusters[i], labels[i])) + 1;
        n = clusters.Length;
        return table;
    }
}
