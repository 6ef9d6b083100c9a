using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Losses;

/// <summary>
/// iBOT masked-patch loss with its teacher-side centering state (dinov2's <c>iBOTPatchLoss</c>): the DINO cross-entropy
/// on masked patch tokens only, each image's masked patches weighted 1/(its masked count), averaged over images.
/// </summary>
public sealed class IbotPatchLoss : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Tensor center;  // [1, 1, K] running mean of teacher patch logits

    /// <summary>A loss with a zero center.</summary>
    /// <param name="outDim">Number of prototypes K of the iBOT head.</param>
    /// <param name="studentTemp">Student temperature τs (0.1).</param>
    /// <param name="centerMomentum">Center EMA momentum m (0.9).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="outDim"/> is not positive, the temperature is not positive, or the momentum is outside [0, 1].</exception>
    public IbotPatchLoss(int outDim, double studentTemp = 0.1, double centerMomentum = 0.9) : base(nameof(IbotPatchLoss))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outDim);
        LossGuards.Temperature(studentTemp, nameof(studentTemp));
        LossGuards.Momentum(centerMomentum, nameof(centerMomentum));
        OutDim = outDim;
        StudentTemperature = studentTemp;
        CenterMomentum = centerMomentum;
        center = torch.zeros(1, 1, outDim);
        RegisterComponents();
    }

    /// <summary>Number of prototypes K, the width of the patch logits.</summary>
    public int OutDim { get; }
    /// <summary>Student temperature τs dividing the student patch logits before log-softmax.</summary>
    public double StudentTemperature { get; }
    /// <summary>EMA momentum m of the center: c ← m·c + (1−m)·mean(teacher patch logits).</summary>
    public double CenterMomentum { get; }

    /// <summary>The center buffer [1, 1, K].</summary>
    public Tensor Center => center;

    /// <summary>softmax((t − c)/τt) for teacher patch logits [..., K] (e.g. [M, K] masked patches or [B, N, K]); same shape out, no gradient.</summary>
    public Tensor SoftmaxCenterTeacher(Tensor teacherLogits, double teacherTemp)
    {
        ArgumentNullException.ThrowIfNull(teacherLogits);
        LossGuards.LastDim(teacherLogits, OutDim, "Teacher patch logits", nameof(teacherLogits));
        LossGuards.Temperature(teacherTemp, nameof(teacherTemp));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return functional.softmax((teacherLogits - center.view(OutDim)) / teacherTemp, dim: -1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Sinkhorn-Knopp targets for masked-patch teacher logits [M, K] → [M, K]; nMaskedPatches is the number of masked
    /// patches on this process (summed across processes by <paramref name="allReduceSum"/>, the distributed hook; a
    /// process may then hold none, as long as the sum is positive).
    /// </summary>
    public Tensor SinkhornKnoppTeacher(Tensor teacherLogits, double teacherTemp, long nMaskedPatches, int iterations = 3, Func<Tensor, Tensor>? allReduceSum = null)
    {
        LossGuards.Rank(teacherLogits, 2, "Masked teacher patch logits [M, K]", nameof(teacherLogits));
        LossGuards.LastDim(teacherLogits, OutDim, "Masked teacher patch logits", nameof(teacherLogits));
        ArgumentOutOfRangeException.ThrowIfNegative(nMaskedPatches);
        if (allReduceSum is null) ArgumentOutOfRangeException.ThrowIfZero(nMaskedPatches);
        double totalSamples = DinoClsTokenLoss.GlobalCount(nMaskedPatches, teacherLogits.device, allReduceSum);
        return SinkhornKnopp.Assign(teacherLogits, teacherTemp, totalSamples, iterations, allReduceSum);
    }

    /// <summary>
    /// Dense form: −mean_b [ Σ_n m_bn · Σ_k t·log_softmax(s/τs) / max(Σ_n m_bn, 1) ].
    /// </summary>
    /// <param name="student">Student patch logits [B, N, K].</param>
    /// <param name="teacherProbs">Teacher patch targets [B, N, K].</param>
    /// <param name="masks">[B, N] bool (or 0/1), true where the student's patch was masked.</param>
    public override Tensor forward(Tensor student, Tensor teacherProbs, Tensor masks)
    {
        LossGuards.Rank(student, 3, "Student patch logits [B, N, K]", nameof(student));
        LossGuards.LastDim(student, OutDim, "Student patch logits", nameof(student));
        LossGuards.SameShape(student, teacherProbs, "Student logits and teacher targets", nameof(teacherProbs));
        LossGuards.Rank(masks, 2, "Masks [B, N]", nameof(masks));
        if (masks.shape[0] != student.shape[0] || masks.shape[1] != student.shape[1])
            throw new ArgumentException($"Masks {LossGuards.Shape(masks)} must match the first two axes of {LossGuards.Shape(student)}.", nameof(masks));

        using var scope = torch.NewDisposeScope();
        var m = masks.to(ScalarType.Float32);
        var perPatch = SoftCrossEntropy.NegativeTerm(teacherProbs, student, StudentTemperature);  // [B, N]
        var perImage = (perPatch * m).sum(dim: -1) / m.sum(dim: -1).clamp_min(1.0);             // [B]
        return (-perImage.mean()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Gathered form used in training: −Σ_i w_i Σ_k t_ik log_softmax(s_i/τs)_k / B, with w_i = 1/(masked count of the
    /// image that patch i belongs to).
    /// </summary>
    /// <param name="studentMasked">Student logits of the masked patches [M', K] (M' ≥ M; rows beyond M are padding and ignored).</param>
    /// <param name="teacherMasked">Teacher targets of the masked patches [M', K] (same rows).</param>
    /// <param name="masks">[B, N] bool, the student masks (their true entries, in row-major order, give the patch order).</param>
    /// <param name="nMaskedPatches">M, the number of real rows; null means all rows.</param>
    /// <param name="masksWeight">[M] weights w_i; null recomputes them from <paramref name="masks"/>.</param>
    public Tensor ForwardMasked(Tensor studentMasked, Tensor teacherMasked, Tensor masks, long? nMaskedPatches = null, Tensor? masksWeight = null)
    {
        LossGuards.Rank(studentMasked, 2, "Masked student logits [M, K]", nameof(studentMasked));
        LossGuards.LastDim(studentMasked, OutDim, "Masked student logits", nameof(studentMasked));
        LossGuards.SameShape(studentMasked, teacherMasked, "Masked student logits and teacher targets", nameof(teacherMasked));
        LossGuards.Rank(masks, 2, "Masks [B, N]", nameof(masks));
        long rows = nMaskedPatches ?? studentMasked.shape[0];
        if (rows < 0 || rows > studentMasked.shape[0])
            throw new ArgumentOutOfRangeException(nameof(nMaskedPatches), rows, $"Must lie in [0, {studentMasked.shape[0]}].");

        using var scope = torch.NewDisposeScope();
        var boolMasks = masks.to(ScalarType.Bool);
        var weights = masksWeight ?? PatchWeights(boolMasks);
        LossGuards.Rank(weights, 1, "Mask weights [M]", nameof(masksWeight));
        if (weights.shape[0] != rows)
            throw new ArgumentException($"Expected {rows} mask weights, got {weights.shape[0]}.", nameof(masksWeight));
        var perPatch = SoftCrossEntropy.NegativeTerm(teacherMasked, studentMasked, StudentTemperature);  // [M']
        var loss = perPatch.narrow(0, 0, rows) * weights;
        return (-loss.sum() / masks.shape[0]).MoveToOuterDisposeScope();
    }

    /// <summary>Per masked patch, 1 / (number of masked patches in its image), in row-major order of the true entries of masks [B, N].</summary>
    public static Tensor PatchWeights(Tensor masks)
    {
        LossGuards.Rank(masks, 2, "Masks [B, N]", nameof(masks));
        using var scope = torch.NewDisposeScope();
        var boolMasks = masks.to(ScalarType.Bool);
        var perImage = 1.0 / boolMasks.sum(dim: -1).to(ScalarType.Float32).clamp_min(1.0);  // [B]
        return perImage.unsqueeze(-1).expand_as(boolMasks).masked_select(boolMasks).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// c ← m·c + (1−m)·batch center: for teacher patch logits [B, N, K], mean_b mean_n t; for the masked patches as
    /// [M, K] (how training calls it), their mean. With the distributed hook the batch center is over all processes:
    /// Σ_b mean_n t / Σ B for [B, N, K]; for [M, K], Σ t / Σ M, the mean over every process's masked patches. (dinov2
    /// passes the masked patches as one row [1, M, K] and so averages the processes' means, which differs when the
    /// processes hold different numbers of masked patches; weighting by M makes N processes equal one with the
    /// whole batch.)
    /// </summary>
    public void UpdateCenter(Tensor teacherLogits, Func<Tensor, Tensor>? allReduceSum = null)
    {
        ArgumentNullException.ThrowIfNull(teacherLogits);
        if (teacherLogits.dim() is not (2 or 3))
            throw new ArgumentException($"Teacher patch logits must be [M, K] or [B, N, K], got {LossGuards.Shape(teacherLogits)}.", nameof(teacherLogits));
        LossGuards.LastDim(teacherLogits, OutDim, "Teacher patch logits", nameof(teacherLogits));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        // Summed over the M patches of [M, K], or over the B per-image means of [B, N, K].
        var rows = teacherLogits.dim() == 2 ? teacherLogits : teacherLogits.mean(dimensions: [1]);
        var sum = rows.sum(dim: 0).view(1, 1, OutDim);
        if (allReduceSum is not null) sum = allReduceSum(sum);
        var batchCenter = sum / DinoClsTokenLoss.GlobalCount(rows.shape[0], teacherLogits.device, allReduceSum);
        center.mul_(CenterMomentum).add_(batchCenter.to(center.dtype), alpha: 1 - CenterMomentum);
    }
}
