using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Losses;

/// <summary>
/// Sinkhorn-Knopp teacher targets (SwAV / DINOv2): the matrix exp(t/τ) is alternately rescaled so that every prototype
/// receives 1/K of the total mass and every sample 1/B, then each sample's column is rescaled to sum to 1.
/// </summary>
public static class SinkhornKnopp
{
    /// <summary>Runs <paramref name="iterations"/> rounds of Sinkhorn-Knopp normalisation on exp(teacherLogits / τ).</summary>
    /// <param name="teacherLogits">[B, K] teacher head outputs on this process.</param>
    /// <param name="teacherTemp">Teacher temperature τ.</param>
    /// <param name="totalSamples">B summed over all processes (the number of columns of the global matrix).</param>
    /// <param name="iterations">Normalisation rounds (dinov2: 3).</param>
    /// <param name="allReduceSum">
    /// Distributed hook: sums a tensor across processes (all-reduce SUM) and returns the result. Applied, as in dinov2,
    /// to the total mass and to the per-prototype row sums; null means a single process.
    /// </param>
    /// <returns>[B, K] assignment probabilities, rows summing to 1. No gradient flows through them.</returns>
    public static Tensor Assign(Tensor teacherLogits, double teacherTemp, double totalSamples, int iterations, Func<Tensor, Tensor>? allReduceSum)
    {
        LossGuards.Rank(teacherLogits, 2, "Sinkhorn-Knopp teacher logits [B, K]", nameof(teacherLogits));
        LossGuards.Temperature(teacherTemp, nameof(teacherTemp));
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        if (!(totalSamples > 0))
            throw new ArgumentOutOfRangeException(nameof(totalSamples), totalSamples, "Need at least one sample.");

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var q = (teacherLogits.to(ScalarType.Float32) / teacherTemp).exp().t();  // [K, B]
        long prototypes = q.shape[0];
        q = q / Reduce(q.sum(), allReduceSum);
        for (int i = 0; i < iterations; i++)
        {
            // Rows: each prototype gets total weight 1/K (row sums are global, hence the all-reduce).
            q = q / Reduce(q.sum(dim: 1, keepdim: true), allReduceSum);
            q = q / prototypes;
            // Columns: each sample gets total weight 1/B (columns are local to a process).
            q = q / q.sum(dim: 0, keepdim: true);
            q = q / totalSamples;
        }
        q = q * totalSamples;  // columns now sum to 1: an assignment per sample
        return q.t().contiguous().MoveToOuterDisposeScope();
    }

    static Tensor Reduce(Tensor t, Func<Tensor, Tensor>? allReduceSum) => allReduceSum is null ? t : allReduceSum(t);
}
