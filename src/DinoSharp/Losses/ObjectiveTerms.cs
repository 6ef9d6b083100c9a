using static TorchSharp.torch;

namespace DinoSharp.Losses;

/// <summary>
/// The terms of the DINOv2 objective for one step. Each loss term is its weighted contribution, so
/// <see cref="Total"/> = DinoLocal + DinoGlobal + Koleo + Ibot is what to back-propagate. Disabled terms are 0.
/// </summary>
/// <param name="Total">Scalar to back-propagate.</param>
/// <param name="DinoLocal">w_dino · Σ_(local crop, teacher global crop) CE / n, n = G(G−1) + max(G·L, 1).</param>
/// <param name="DinoGlobal">w_dino · 2 · CE(student global crop vs the OTHER crop's teacher target, mean over 2B rows) / n.</param>
/// <param name="Koleo">w_koleo · Σ over the 2 global crops of KoLeo(student cls tokens of that crop).</param>
/// <param name="Ibot">w_ibot · forward_masked · 2 · (1/G).</param>
/// <param name="TeacherEntropy">Collapse signal (no gradient): mean entropy of the teacher cls targets; ≈ 0 means one prototype dominates, ≈ log K means uniform.</param>
/// <param name="CenterNorm">Collapse signal (no gradient): ‖DINO center‖₂ used for these targets.</param>
public sealed record ObjectiveTerms(
    Tensor Total,
    Tensor DinoLocal,
    Tensor DinoGlobal,
    Tensor Koleo,
    Tensor Ibot,
    Tensor TeacherEntropy,
    Tensor CenterNorm);
