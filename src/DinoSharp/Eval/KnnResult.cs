namespace DinoSharp.Eval;

/// <summary>Outcome of <see cref="KnnClassifier.Evaluate"/>.</summary>
/// <param name="PerK">Accuracy for every requested k, in the order of <see cref="KnnOptions.Ks"/>.</param>
/// <param name="BestK">k with the highest top-1 accuracy (ties: the smallest such k).</param>
/// <param name="DetailK">k used for <paramref name="PerClassAccuracy"/> and <paramref name="ConfusionMatrix"/>.</param>
/// <param name="PerClassAccuracy">Recall of each class at <paramref name="DetailK"/>; NaN for classes absent from the test set.</param>
/// <param name="ConfusionMatrix">[C, C] counts at <paramref name="DetailK"/>: row = true class, column = predicted class.</param>
public sealed record KnnResult(
    IReadOnlyList<KnnAccuracy> PerK,
    int BestK,
    int DetailK,
    double[] PerClassAccuracy,
    long[,] ConfusionMatrix)
{
    /// <summary>Top-1 accuracy at <see cref="BestK"/>, in [0, 1].</summary>
    public double BestTop1 => PerK.Max(a => a.Top1);
}
