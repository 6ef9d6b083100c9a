namespace DinoSharp.Eval;

/// <summary>How one learning rate of the grid did on the validation split.</summary>
/// <param name="LearningRate">Base learning rate from the grid (before the BatchSize / 256 scaling).</param>
/// <param name="ValidationAccuracy">Top-1 accuracy on the validation split, 0..1 (0 when diverged).</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation split (infinity when diverged).</param>
/// <param name="Diverged">The weights became NaN or infinite; never chosen.</param>
public sealed record LearningRateScore(double LearningRate, double ValidationAccuracy, double ValidationLoss, bool Diverged);
