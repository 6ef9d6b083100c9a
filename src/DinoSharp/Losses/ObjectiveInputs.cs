using static TorchSharp.torch;

namespace DinoSharp.Losses;

/// <summary>
/// Head outputs of one training step. All crop-stacked tensors are crop-major: rows [c·B, (c+1)·B) belong to crop c.
/// Exactly 2 global crops (G = 2) as in dinov2.
/// </summary>
public sealed record ObjectiveInputs
{
    /// <summary>Student DINO-head logits of the global crops [2B, K].</summary>
    public required Tensor StudentGlobalCls { get; init; }

    /// <summary>Teacher DINO-head logits of the global crops [2B, K], in crop order (NOT swapped; the objective pairs the crops).</summary>
    public required Tensor TeacherGlobalCls { get; init; }

    /// <summary>Student DINO-head logits of the local crops [L·B, K]; null when L = 0.</summary>
    public Tensor? StudentLocalCls { get; init; }

    /// <summary>Student backbone cls tokens of the global crops [2B, D] (after the final norm, before the head), for KoLeo.</summary>
    public Tensor? StudentGlobalClsTokens { get; init; }

    /// <summary>Student iBOT-head logits of the masked patches [M', K] (M' ≥ M rows; extra rows are padding).</summary>
    public Tensor? StudentMaskedPatches { get; init; }

    /// <summary>Teacher iBOT-head logits of the same patches (teacher saw them unmasked) [M', K].</summary>
    public Tensor? TeacherMaskedPatches { get; init; }

    /// <summary>Student masks of the global crops [2B, N] bool.</summary>
    public Tensor? Masks { get; init; }

    /// <summary>Per masked patch weight 1/(its image's masked count) [M]; null recomputes it from <see cref="Masks"/>.</summary>
    public Tensor? MasksWeight { get; init; }

    /// <summary>M, the number of real masked-patch rows; null means all rows of <see cref="StudentMaskedPatches"/>.</summary>
    public long? MaskedPatchCount { get; init; }
}
