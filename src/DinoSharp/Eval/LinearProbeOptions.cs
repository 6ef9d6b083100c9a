namespace DinoSharp.Eval;

/// <summary>Linear evaluation settings; defaults follow DINOv2 (dinov2/eval/linear.py) where it has one.</summary>
public sealed record LinearProbeOptions
{
    /// <summary>Base learning rates, all trained together. DINOv2's grid: 1e-5 … 0.1.</summary>
    public IReadOnlyList<double> LearningRates { get; init; } =
        [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1];

    /// <summary>Passes over the training split (DINOv2 counts 10 "epochs" of 1,250 iterations on ImageNet).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Mini-batch size. As in DINOv2, every learning rate is scaled by BatchSize / 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>SGD momentum. DINOv2: 0.9.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay added to the gradient. DINOv2: 0.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Share of the training rows held out to choose the learning rate (seeded split).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>
    /// Standardise every feature dimension with the training set's mean and standard deviation (unbiased) before the
    /// probe, test features with the same statistics. On by default, and what <c>dino linear</c> does: embeddings arrive
    /// L2-normalised (per-dimension scale ≈ 1/√D), for which DINOv2's learning-rate grid is far too small; standardised,
    /// every model meets the grid on the same scale. DINOv2's own linear evaluation trains on the raw features: set
    /// false to do the same.
    /// </summary>
    public bool StandardizeFeatures { get; init; } = true;

    /// <summary>Seeds the validation split, weight initialisation and per-epoch shuffles.</summary>
    public long Seed { get; init; }
}
