namespace DinoSharp.Eval;

/// <summary>Top-1 accuracy (0..1) of weighted kNN for one k, with the predictions it was computed from.</summary>
public sealed record KnnAccuracy(int K, int EffectiveK, double Top1, long[] Predicted);
