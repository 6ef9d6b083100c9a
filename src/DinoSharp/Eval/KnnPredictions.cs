namespace DinoSharp.Eval;

/// <summary>Predicted class per query for one requested k.</summary>
/// <param name="K">The k asked for.</param>
/// <param name="EffectiveK">min(K, number of training rows): the neighbours actually used.</param>
/// <param name="Predicted">Predicted class index per query row.</param>
public sealed record KnnPredictions(int K, int EffectiveK, long[] Predicted);
