namespace DinoSharp.Losses;

/// <summary>How teacher logits become targets (dinov2's <c>train.centering</c>).</summary>
public enum TeacherCentering
{
    /// <summary>softmax((t − c)/τt) with the running center c (DINO; the dinov2 default).</summary>
    Centering,

    /// <summary>Sinkhorn-Knopp normalisation of exp(t/τt) (SwAV-style); the centers are not used nor updated.</summary>
    SinkhornKnopp,
}
