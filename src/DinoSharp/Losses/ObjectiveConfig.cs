namespace DinoSharp.Losses;

/// <summary>Loss weights and teacher-target settings of the DINOv2 objective (dinov2 defaults beside each value).</summary>
public sealed record ObjectiveConfig
{
    /// <summary>Number of prototypes K of the DINO head (dinov2: 65536).</summary>
    public int OutDim { get; init; } = 65536;

    /// <summary>Prototypes of a separate iBOT head; null when the head is shared with DINO (dinov2 default).</summary>
    public int? IbotOutDim { get; init; }

    /// <summary>Student temperature τs (0.1).</summary>
    public double StudentTemp { get; init; } = 0.1;

    /// <summary>Center EMA momentum (0.9).</summary>
    public double CenterMomentum { get; init; } = 0.9;

    /// <summary><c>dino.loss_weight</c> (1.0); 0 disables the DINO terms and KoLeo, as in dinov2.</summary>
    public double DinoLossWeight { get; init; } = 1.0;

    /// <summary><c>ibot.loss_weight</c> (1.0); 0 disables the iBOT term.</summary>
    public double IbotLossWeight { get; init; } = 1.0;

    /// <summary><c>dino.koleo_loss_weight</c> (0.1); 0 disables KoLeo.</summary>
    public double KoLeoLossWeight { get; init; } = 0.1;

    /// <summary><c>train.centering</c> ("centering").</summary>
    public TeacherCentering Centering { get; init; } = TeacherCentering.Centering;

    /// <summary>Sinkhorn-Knopp rounds (3).</summary>
    public int SinkhornIterations { get; init; } = 3;
}
