namespace DinoSharp.Eval;

/// <summary>Accuracy, per-class recall and confusion counts from predicted and true class indices.</summary>
public static class ClassificationMetrics
{
    /// <summary>Fraction of rows where <paramref name="predicted"/> equals <paramref name="truth"/>, in [0, 1]; NaN for no rows.</summary>
    /// <exception cref="ArgumentException">The arrays differ in length.</exception>
    public static double Accuracy(long[] predicted, long[] truth)
    {
        RequireSameLength(predicted, truth);
        if (truth.Length == 0) return double.NaN;
        int correct = 0;
        for (int i = 0; i < truth.Length; i++) if (predicted[i] == truth[i]) correct++;
        return (double)correct / truth.Length;
    }

    /// <summary>[C, C] counts, row = true class, column = predicted class.</summary>
    public static long[,] ConfusionMatrix(long[] predicted, long[] truth, int numClasses)
    {
        RequireSameLength(predicted, truth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        var m = new long[numClasses, numClasses];
        for (int i = 0; i < truth.Length; i++)
        {
            if ((ulong)truth[i] >= (ulong)numClasses || (ulong)predicted[i] >= (ulong)numClasses)
                throw new ArgumentOutOfRangeException(nameof(truth), $"Row {i}: class {truth[i]} / prediction {predicted[i]} is outside [0, {numClasses}).");
            m[truth[i], predicted[i]]++;
        }
        return m;
    }

    /// <summary>Recall of each class (diagonal over row sum); NaN for a class with no samples.</summary>
    public static double[] PerClassAccuracy(long[,] confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        int c = confusion.GetLength(0);
        var acc = new double[c];
        for (int i = 0; i < c; i++)
        {
            long total = 0;
            for (int j = 0; j < c; j++) total += confusion[i, j];
            acc[i] = total == 0 ? double.NaN : (double)confusion[i, i] / total;
        }
        return acc;
    }

    static void RequireSameLength(long[] predicted, long[] truth)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(truth);
        if (predicted.Length != truth.Length)
            throw new ArgumentException($"Got {predicted.Length} predictions for {truth.Length} labels.", nameof(predicted));
    }
}
