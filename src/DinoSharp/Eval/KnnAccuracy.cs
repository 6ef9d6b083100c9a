namespace DinoSharp.Eval;

/// <summary>Top-1 accuracy (0..1) of weighted kNN for one k, with the predictions it was computed from.</summary>
/// <param name="K">The k asked for.</param>
/// <param name="EffectiveK">The k used: K clamped to the training-set size.</param>
/// <param name="Top1">Fraction of test rows predicted correctly, in [0, 1].</param>
/// <param name="Predicted">Predicted class per test row.</param>
public sealed record KnnAccuracy(int K, int EffectiveK, double Top1, long[] Predicted);
