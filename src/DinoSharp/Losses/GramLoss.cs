using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Losses;

/// <summary>
/// DINOv3's Gram anchoring loss (dinov3/loss/gram_loss.py): the mean squared difference between the student's and the
/// Gram teacher's patch-similarity matrices, MSE(XₛXₛᵀ, XₜXₜᵀ), with X the patch features L2-normalised per token
/// (<see cref="ApplyNorm"/>). Gram matrices are per image [B, N, N] (<see cref="ImgLevel"/>) or over the whole batch's
/// patches [B·N, B·N]. Both inputs are cast to float32 first; the teacher side is expected without gradient.
/// </summary>
/// <remarks>
/// <see cref="RemoveNeg"/> zeroes the negative similarities of both matrices (no gradient flows through a zeroed student
/// entry). <see cref="RemoveOnlyTeacherNeg"/> zeroes the teacher's; the reference then also zeroes student entries that
/// are negative where the teacher's are, but tests the teacher matrix after its negatives were already zeroed, so that
/// selects nothing: the student matrix is left as it is, here as there.
/// </remarks>
public sealed class GramLoss : Module<Tensor, Tensor, Tensor>
{
    /// <summary>A loss with the reference's argument names and defaults.</summary>
    /// <param name="applyNorm">L2-normalise every token's features before the Gram matrices (the reference's apply_norm, true; dinov3's gram.normalized).</param>
    /// <param name="imgLevel">Gram matrices per image (true, GramLoss.forward's default) or over the batch's flattened patches (false, dinov3's gram.img_level default).</param>
    /// <param name="removeNeg">Zero the negative similarities of both matrices (true).</param>
    /// <param name="removeOnlyTeacherNeg">Zero the negative similarities of the teacher's matrix only (false).</param>
    /// <exception cref="ArgumentException">Both <paramref name="removeNeg"/> and <paramref name="removeOnlyTeacherNeg"/> are set (the reference asserts one at most).</exception>
    public GramLoss(bool applyNorm = true, bool imgLevel = true, bool removeNeg = true, bool removeOnlyTeacherNeg = false) : base(nameof(GramLoss))
    {
        if (removeNeg && removeOnlyTeacherNeg)
            throw new ArgumentException("GramLoss: set remove_neg or remove_only_teacher_neg, not both.", nameof(removeOnlyTeacherNeg));
        ApplyNorm = applyNorm;
        ImgLevel = imgLevel;
        RemoveNeg = removeNeg;
        RemoveOnlyTeacherNeg = removeOnlyTeacherNeg;
    }

    /// <summary>Whether each token's features are L2-normalised first (Gram entries are then cosine similarities).</summary>
    public bool ApplyNorm { get; }
    /// <summary>Whether the Gram matrices are per image rather than over the batch.</summary>
    public bool ImgLevel { get; }
    /// <summary>Whether negative similarities of both matrices are zeroed.</summary>
    public bool RemoveNeg { get; }
    /// <summary>Whether only the teacher's negative similarities are zeroed.</summary>
    public bool RemoveOnlyTeacherNeg { get; }

    /// <summary>
    /// student [B, N, Dₛ] and teacher [B, N, Dₜ] patch features (at batch level also [B·N, D]) → scalar loss. The widths
    /// may differ; the token layout must not.
    /// </summary>
    /// <exception cref="ArgumentException">A tensor has the wrong rank, or the two do not hold the same images and tokens.</exception>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        CheckInputs(student, teacher);
        using var scope = torch.NewDisposeScope();
        var teacherSim = Similarities(teacher);
        var studentSim = Similarities(student);
        if (RemoveNeg)
        {
            teacherSim = ZeroNegatives(teacherSim, teacherSim < 0);
            studentSim = ZeroNegatives(studentSim, studentSim < 0);
        }
        else if (RemoveOnlyTeacherNeg)
        {
            teacherSim = ZeroNegatives(teacherSim, teacherSim < 0);
            // The reference's student mask, evaluated after the line above as there: (student < 0) & (teacher < 0) is empty.
            studentSim = ZeroNegatives(studentSim, (studentSim < 0).logical_and(teacherSim < 0));
        }
        return functional.mse_loss(studentSim, teacherSim).MoveToOuterDisposeScope();
    }

    /// <summary>[.., N, D] → float32 Gram matrix [.., N, N], over the flattened batch unless <see cref="ImgLevel"/>.</summary>
    Tensor Similarities(Tensor features)
    {
        var x = features.to(ScalarType.Float32);
        if (ApplyNorm) x = functional.normalize(x, dim: -1);
        if (!ImgLevel && x.dim() == 3) x = x.flatten(0, 1);
        return x.matmul(x.transpose(-1, -2));
    }

    static Tensor ZeroNegatives(Tensor similarities, Tensor mask) => similarities.masked_fill(mask, 0.0);

    void CheckInputs(Tensor student, Tensor teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (ImgLevel)
        {
            LossGuards.Rank(student, 3, "Image-level Gram loss: student patch features [B, N, D]", nameof(student));
            LossGuards.Rank(teacher, 3, "Image-level Gram loss: teacher patch features [B, N, D]", nameof(teacher));
        }
        else
        {
            if (student.dim() is not (2 or 3))
                throw new ArgumentException($"Batch-level Gram loss: student patch features must be [B, N, D] or [B·N, D], got {LossGuards.Shape(student)}.", nameof(student));
            if (teacher.dim() is not (2 or 3))
                throw new ArgumentException($"Batch-level Gram loss: teacher patch features must be [B, N, D] or [B·N, D], got {LossGuards.Shape(teacher)}.", nameof(teacher));
        }
        long Tokens(Tensor t) => t.dim() == 3 && !ImgLevel ? t.shape[0] * t.shape[1] : t.shape[^2];
        bool sameLayout = ImgLevel ? student.shape[..^1].SequenceEqual(teacher.shape[..^1]) : Tokens(student) == Tokens(teacher);
        if (!sameLayout)
            throw new ArgumentException($"Gram loss: student {LossGuards.Shape(student)} and teacher {LossGuards.Shape(teacher)} must hold the same images and patch tokens (all but the feature width must agree); resize the teacher's patch grid to the student's first.", nameof(teacher));
    }
}
