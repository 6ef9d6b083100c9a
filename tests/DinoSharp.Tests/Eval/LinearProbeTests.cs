using DinoSharp.Eval;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Eval;

public sealed class LinearProbeTests
{
    static (Tensor X, Tensor Y) Blobs(Tensor centres, long n, Generator g)
    {
        var y = torch.randint(0, centres.shape[0], [n], generator: g, dtype: ScalarType.Int64);
        var x = centres[y] + torch.randn([n, centres.shape[1]], generator: g);
        return (x, y);
    }

    [Fact]
    public void Separable_features_reach_99_percent_and_a_sensible_learning_rate_is_chosen()
    {
        var g = new Generator(11);
        using var centres = torch.randn(5, 32, generator: g) * 3;
        var (xTrain, yTrain) = Blobs(centres, 2000, g);
        var (xTest, yTest) = Blobs(centres, 500, g);
        var result = new LinearProbe(new LinearProbeOptions { Seed = 1 }).Run(xTrain, yTrain, xTest, yTest, 5);

        Assert.True(result.TestAccuracy >= 0.99, $"test accuracy {result.TestAccuracy}");
        Assert.Equal(13, result.Validation.Count);
        var chosen = result.Validation.Single(s => s.LearningRate == result.BestLearningRate);
        Assert.Equal(result.Validation.Max(s => s.ValidationAccuracy), chosen.ValidationAccuracy);
        Assert.True(result.BestLearningRate >= 1e-3, $"chose lr {result.BestLearningRate}");
        // 70 SGD steps at lr 1e-5 barely move N(0, 0.01²) weights: the smallest rate must be clearly worse.
        Assert.True(result.Validation[0].ValidationAccuracy < chosen.ValidationAccuracy - 0.2,
            $"lr 1e-5 val accuracy {result.Validation[0].ValidationAccuracy}");
        Assert.Equal(500, result.TestPredictions.Length);
        Assert.All(result.PerClassAccuracy, a => Assert.True(a >= 0.97));
        foreach (var t in new[] { xTrain, yTrain, xTest, yTest }) t.Dispose();
    }

    [Fact]
    public void Same_seed_gives_identical_results()
    {
        var g = new Generator(12);
        using var centres = torch.randn(3, 8, generator: g);
        var (x, y) = Blobs(centres, 300, g);
        var options = new LinearProbeOptions { Seed = 5, LearningRates = [1e-3, 1e-2, 0.1], Epochs = 3, BatchSize = 32 };
        var a = new LinearProbe(options).Run(x, y, x, y, 3);
        var b = new LinearProbe(options).Run(x, y, x, y, 3);
        Assert.Equal(a.Validation, b.Validation);
        Assert.Equal(a.TestPredictions, b.TestPredictions);
        x.Dispose();
        y.Dispose();
    }

    [Fact]
    public void Probe_input_concatenates_last_class_tokens_and_pooled_patches()
    {
        var cls = Enumerable.Range(0, 4).Select(i => torch.full(2, 3, (float)i)).ToList();   // block i: all i
        using var patches = torch.arange(2 * 4 * 3, ScalarType.Float32).reshape(2, 4, 3);
        using var last1 = LinearProbeFeatures.Create(cls, null, 1, averagePool: false);
        using var last4Pool = LinearProbeFeatures.Create(cls, patches, 4, averagePool: true);
        Assert.Equal([2L, 3L], last1.shape);
        Assert.Equal(3f, last1[0, 0].item<float>());
        Assert.Equal([2L, 15L], last4Pool.shape);
        Assert.Equal([0f, 0f, 0f, 1f, 1f, 1f, 2f, 2f, 2f, 3f, 3f, 3f, 4.5f, 5.5f, 6.5f], last4Pool[0].data<float>().ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => LinearProbeFeatures.Create(cls, null, 5, false));
        foreach (var t in cls) t.Dispose();
    }
}
