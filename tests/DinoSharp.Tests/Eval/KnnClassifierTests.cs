using DinoSharp.Eval;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Eval;

public sealed class KnnClassifierTests
{
    static Tensor Rows(params float[][] rows) => torch.tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    static Tensor Labels(params long[] labels) => torch.tensor(labels);

    [Fact]
    public void Weighted_vote_matches_hand_computed_answers()
    {
        // Angles on the unit circle: class 0 near 0°, class 1 near 90°. Query at 30° has neighbours (by cosine)
        // 20° (0), 0° (0), 70° (1), 90° (1).
        static float[] At(double deg) => [(float)Math.Cos(deg * Math.PI / 180), (float)Math.Sin(deg * Math.PI / 180)];
        using var train = Rows(At(0), At(20), At(70), At(90));
        using var labels = Labels(0, 0, 1, 1);
        using var knn = new KnnClassifier(train, labels, 2, new KnnOptions { Ks = [1, 3, 4] });
        using var test = Rows(At(30), At(60), At(88));
        var preds = knn.Predict(test);
        Assert.Equal([0L, 1L, 1L], preds[0].Predicted);                  // k = 1: nearest row's class
        // k = 3 for the query at 60°: neighbours 70° (1, cos 0.985), 90° (1, cos 0.866), 20° (0, cos 0.766) → class 1.
        Assert.Equal([0L, 1L, 1L], preds[1].Predicted);
        // k = 4 at 30°: class 0 weights exp(cos10°/T)+exp(cos30°/T) vs class 1 exp(cos40°/T)+exp(cos60°/T) → 0.
        Assert.Equal(0L, preds[2].Predicted[0]);
    }

    [Fact]
    public void Exact_tie_goes_to_the_lowest_class_index()
    {
        // Query equidistant from one row of class 2 and one row of class 1: votes are exactly equal.
        using var train = Rows([1f, 0f], [0f, 1f]);
        using var labels = Labels(2, 1);
        using var knn = new KnnClassifier(train, labels, 3, new KnnOptions { Ks = [2] });
        using var test = Rows([1f, 1f]);
        Assert.Equal(1L, knn.Predict(test)[0].Predicted[0]);
    }

    [Fact]
    public void K_larger_than_training_set_is_clamped()
    {
        using var train = Rows([1f, 0f], [0.9f, 0.1f], [0f, 1f]);
        using var labels = Labels(0, 0, 1);
        using var knn = new KnnClassifier(train, labels, 2, new KnnOptions { Ks = [2, 200] });
        using var test = Rows([0.1f, 1f], [1f, 0.05f]);
        using var truth = Labels(1, 0);
        var result = knn.Evaluate(test, truth);
        Assert.Equal(200, result.PerK[1].K);
        Assert.Equal(3, result.PerK[1].EffectiveK);
        // With all 3 neighbours: query at ~84° gets class 1 weight exp(0.995/T) vs class 0 ≈ exp(0.10/T)+exp(0.21/T).
        Assert.Equal([1L, 0L], result.PerK[1].Predicted);
        Assert.Equal(1.0, result.PerK[1].Top1);
    }

    [Fact]
    public void Single_class_always_predicts_it_and_reports_per_class_and_confusion()
    {
        using var train = torch.randn(50, 8, generator: new Generator(1));
        using var labels = torch.zeros(50, ScalarType.Int64);
        using var knn = new KnnClassifier(train, labels, 1);
        using var test = torch.randn(7, 8, generator: new Generator(2));
        using var truth = torch.zeros(7, ScalarType.Int64);
        var result = knn.Evaluate(test, truth);
        Assert.All(result.PerK, a => Assert.Equal(1.0, a.Top1));
        Assert.Equal(10, result.BestK);            // all tie at 100% → smallest k
        Assert.Equal(7, result.ConfusionMatrix[0, 0]);
        Assert.Equal([1.0], result.PerClassAccuracy);
    }

    [Fact]
    public void Separated_gaussian_classes_are_classified_and_confusion_is_consistent()
    {
        var g = new Generator(7);
        using var centres = torch.randn(4, 32, generator: g) * 3;
        using var trainLabels = torch.arange(400, ScalarType.Int64) % 4;
        using var testLabels = torch.arange(100, ScalarType.Int64) % 4;
        using var train = centres[trainLabels] + torch.randn(400, 32, generator: g);
        using var test = centres[testLabels] + torch.randn(100, 32, generator: g);
        using var knn = new KnnClassifier(train, trainLabels, 4, new KnnOptions { DetailK = 20, MemoryBudgetBytes = 1 << 16 });
        var result = knn.Evaluate(test, testLabels);
        Assert.True(result.PerK.First(a => a.K == 20).Top1 > 0.95);
        Assert.Equal(20, result.DetailK);
        long total = 0;
        foreach (var c in result.ConfusionMatrix) total += c;
        Assert.Equal(100, total);
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_the_value_named()
    {
        using var train = Rows([1f, 0f]);
        using var labels = Labels(3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new KnnClassifier(train, labels, 2));
        Assert.Contains("trainLabels[0] = 3", e.Message);
    }
}
