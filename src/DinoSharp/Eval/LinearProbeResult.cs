namespace DinoSharp.Eval;

/// <summary>Outcome of <see cref="LinearProbe.Run"/>.</summary>
/// <param name="BestLearningRate">Grid value with the highest validation accuracy (ties: lower validation loss).</param>
/// <param name="Validation">Validation score of every learning rate, in grid order.</param>
/// <param name="TestAccuracy">Top-1 test accuracy of the classifier trained with <paramref name="BestLearningRate"/>.</param>
/// <param name="PerClassAccuracy">Test recall per class (NaN for classes absent from the test set).</param>
/// <param name="ConfusionMatrix">[C, C] test counts, row = true class, column = predicted.</param>
/// <param name="TestPredictions">Predicted class per test row.</param>
public sealed record LinearProbeResult(
    double BestLearningRate,
    IReadOnlyList<LearningRateScore> Validation,
    double TestAccuracy,
    double[] PerClassAccuracy,
    long[,] ConfusionMatrix,
    long[] TestPredictions);
