using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Losses;

/// <summary>
/// DINO loss on the class-token head outputs, with the teacher-side centering state (dinov2's <c>DINOLoss</c>).
/// Teacher targets are made by <see cref="SoftmaxCenterTeacher"/> or <see cref="SinkhornKnoppTeacher"/>; the center is
/// only changed by an explicit <see cref="UpdateCenter"/> call (after the targets of the step were computed).
/// </summary>
public sealed class DinoClsTokenLoss : Module<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>, Tensor>
{
    private readonly Tensor center;  // [1, K] running mean of teacher logits

    /// <summary>A loss with a zero center.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="outDim"/> is not positive, the temperature is not positive, or the momentum is outside [0, 1].</exception>
    /// <param name="outDim">Number of prototypes K.</param>
    /// <param name="studentTemp">Student temperature τs (0.1).</param>
    /// <param name="centerMomentum">Center EMA momentum m (0.9): c ← m·c + (1−m)·mean(t).</param>
    public DinoClsTokenLoss(int outDim, double studentTemp = 0.1, double centerMomentum = 0.9) : base(nameof(DinoClsTokenLoss))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outDim);
        LossGuards.Temperature(studentTemp, nameof(studentTemp));
        LossGuards.Momentum(centerMomentum, nameof(centerMomentum));
        OutDim = outDim;
        StudentTemperature = studentTemp;
        CenterMomentum = centerMomentum;
        center = torch.zeros(1, outDim);
        RegisterComponents();
    }

    /// <summary>Number of prototypes K, the width of the logits.</summary>
    public int OutDim { get; }
    /// <summary>Student temperature τs dividing the student logits before log-softmax.</summary>
    public double StudentTemperature { get; }
    /// <summary>EMA momentum m of the center: c ← m·c + (1−m)·mean(teacher logits).</summary>
    public double CenterMomentum { get; }

    /// <summary>The center buffer [1, K] (read-only view; saved in the state dict as <c>center</c>).</summary>
    public Tensor Center => center;

    /// <summary>Centered, sharpened teacher targets softmax((t − c)/τt): teacherLogits [N, K] → [N, K], no gradient.</summary>
    public Tensor SoftmaxCenterTeacher(Tensor teacherLogits, double teacherTemp)
    {
        LossGuards.Rank(teacherLogits, 2, "Teacher logits [N, K]", nameof(teacherLogits));
        LossGuards.LastDim(teacherLogits, OutDim, "Teacher logits", nameof(teacherLogits));
        LossGuards.Temperature(teacherTemp, nameof(teacherTemp));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return functional.softmax((teacherLogits - center) / teacherTemp, dim: -1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Sinkhorn-Knopp teacher targets: teacherLogits [N, K] → [N, K] (rows sum to 1), no gradient. The center is unused.
    /// </summary>
    /// <param name="teacherLogits">Teacher head outputs [N, K] of all global crops on this process.</param>
    /// <param name="teacherTemp">Teacher temperature τt.</param>
    /// <param name="iterations">Normalisation rounds (3).</param>
    /// <param name="allReduceSum">
    /// Distributed hook (all-reduce SUM across processes); null for a single process. It is applied to the sample count,
    /// the total mass and the per-prototype sums, so every process normalises against the global batch.
    /// </param>
    public Tensor SinkhornKnoppTeacher(Tensor teacherLogits, double teacherTemp, int iterations = 3, Func<Tensor, Tensor>? allReduceSum = null)
    {
        LossGuards.Rank(teacherLogits, 2, "Teacher logits [N, K]", nameof(teacherLogits));
        LossGuards.LastDim(teacherLogits, OutDim, "Teacher logits", nameof(teacherLogits));
        double totalSamples = GlobalCount(teacherLogits.shape[0], teacherLogits.device, allReduceSum);
        return SinkhornKnopp.Assign(teacherLogits, teacherTemp, totalSamples, iterations, allReduceSum);
    }

    /// <summary>
    /// Σ over every (student chunk, teacher chunk) pair of −mean_b Σ_k t_bk · log_softmax(s_b/τs)_k. A plain SUM, not an
    /// average: the 1/(number of loss terms) scaling belongs to the caller (see DinoV2Objective).
    /// Pairs of a global crop with itself must be excluded by the caller (by the chunks it passes).
    /// </summary>
    /// <param name="studentChunks">Student logits, one [B, K] tensor per crop.</param>
    /// <param name="teacherChunks">Teacher target probabilities, one [B, K] tensor per crop.</param>
    public override Tensor forward(IReadOnlyList<Tensor> studentChunks, IReadOnlyList<Tensor> teacherChunks)
    {
        ArgumentNullException.ThrowIfNull(studentChunks);
        ArgumentNullException.ThrowIfNull(teacherChunks);
        if (studentChunks.Count == 0 || teacherChunks.Count == 0)
            throw new ArgumentException("Need at least one student chunk and one teacher chunk.");
        var reference = teacherChunks[0];
        foreach (var t in studentChunks.Concat(teacherChunks))
        {
            LossGuards.Rank(t, 2, "Each chunk [B, K]", nameof(studentChunks));
            LossGuards.SameShape(t, reference, "Student and teacher chunks must all be [B, K] with the same B", nameof(studentChunks));
        }
        LossGuards.LastDim(reference, OutDim, "Chunks", nameof(teacherChunks));

        using var scope = torch.NewDisposeScope();
        Tensor? total = null;
        foreach (var s in studentChunks)
        {
            var logProbs = functional.log_softmax(s / StudentTemperature, dim: -1);
            foreach (var t in teacherChunks)
            {
                var term = -(t * logProbs).sum(dim: -1).mean();
                total = total is null ? term : total + term;
            }
        }
        return total!.MoveToOuterDisposeScope();
    }

    /// <summary>c ← m·c + (1−m)·mean over rows of teacherLogits [N, K] (over all processes if a hook is given).</summary>
    public void UpdateCenter(Tensor teacherLogits, Func<Tensor, Tensor>? allReduceSum = null)
    {
        LossGuards.Rank(teacherLogits, 2, "Teacher logits [N, K]", nameof(teacherLogits));
        LossGuards.LastDim(teacherLogits, OutDim, "Teacher logits", nameof(teacherLogits));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var sum = teacherLogits.sum(dim: 0, keepdim: true);
        if (allReduceSum is not null) sum = allReduceSum(sum);
        var batchCenter = sum / GlobalCount(teacherLogits.shape[0], teacherLogits.device, allReduceSum);
        center.mul_(CenterMomentum).add_(batchCenter.to(center.dtype), alpha: 1 - CenterMomentum);
    }

    internal static double GlobalCount(long localCount, Device device, Func<Tensor, Tensor>? allReduceSum)
    {
        if (allReduceSum is null) return localCount;
        using var count = torch.tensor((double)localCount, ScalarType.Float64, device);
        using var reduced = allReduceSum(count);
        return reduced.item<double>();
    }
}
