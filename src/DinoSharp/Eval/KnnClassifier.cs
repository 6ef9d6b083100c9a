using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// Weighted k-nearest-neighbour classifier of DINO / DINOv2 (Wu et al. 2018; dinov2/eval/knn.py). Train and test
/// features are L2-normalised (again: idempotent for rows that already are), the cosine similarity of every test row
/// to all training rows is computed in memory-bounded chunks, and the top max(k) neighbours vote for their class with
/// weight exp(sim / T). DINOv2 applies softmax(sim / T) over the max(k) neighbours instead, which divides all of a
/// query's weights by one positive constant and so yields the same argmax; we use the softmax form because it cannot
/// overflow. Predicted class = argmax of the summed votes; on an exactly tied vote the lowest class index wins
/// (torch.argmax returns the first maximum). A k larger than the training set is clamped to its size
/// (<see cref="KnnPredictions.EffectiveK"/>). Neighbours with exactly equal similarity at the k-th place are chosen
/// in an unspecified order.
/// </summary>
public sealed class KnnClassifier : IDisposable
{
    readonly Tensor train;        // [N, D] float32, normalised, on the caller's device
    readonly Tensor trainLabels;  // [N] int64, same device

    /// <summary>Keeps an L2-normalised float32 copy of the training features and their labels on the features' device.</summary>
    /// <exception cref="ArgumentException">The training set is empty, the labels do not match it, or the options are inconsistent (no positive k, DetailK not among Ks).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, numClasses), or the temperature is not positive.</exception>
    /// <param name="trainFeatures">[N, D] training features (any float dtype / device).</param>
    /// <param name="trainLabels">[N] class indices in [0, <paramref name="numClasses"/>).</param>
    /// <param name="numClasses">Number of classes C.</param>
    /// <param name="options">Defaults to DINOv2's settings.</param>
    public KnnClassifier(Tensor trainFeatures, Tensor trainLabels, int numClasses, KnnOptions? options = null)
    {
        EmbeddingMath.RequireMatrix(trainFeatures, nameof(trainFeatures));
        if (trainFeatures.shape[0] == 0) throw new ArgumentException("The training set is empty.", nameof(trainFeatures));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        var labels = EmbeddingMath.RequireLabels(trainLabels, trainFeatures.shape[0], nameof(trainLabels));
        if (Array.FindIndex(labels, l => l < 0 || l >= numClasses) is int bad and >= 0)
            throw new ArgumentOutOfRangeException(nameof(trainLabels), $"trainLabels[{bad}] = {labels[bad]} is outside [0, {numClasses}).");
        Options = options ?? new KnnOptions();
        if (Options.Ks is null || Options.Ks.Count == 0 || Options.Ks.Any(k => k <= 0))
            throw new ArgumentException("KnnOptions.Ks must list at least one positive k.", nameof(options));
        if (!(Options.Temperature > 0))
            throw new ArgumentOutOfRangeException(nameof(options), $"KnnOptions.Temperature must be positive, got {Options.Temperature}.");
        if (Options.DetailK is int dk && !Options.Ks.Contains(dk))
            throw new ArgumentException($"KnnOptions.DetailK = {dk} is not one of Ks ({string.Join(", ", Options.Ks)}).", nameof(options));

        NumClasses = numClasses;
        train = EmbeddingMath.Normalize(trainFeatures);
        this.trainLabels = torch.tensor(labels, ScalarType.Int64, train.device);
    }

    /// <summary>Ks, temperature, detail k and memory budget in use.</summary>
    public KnnOptions Options { get; }
    /// <summary>Number of classes C; labels and predictions are in [0, C).</summary>
    public int NumClasses { get; }
    /// <summary>Number of training rows N (the largest effective k).</summary>
    public long TrainCount => train.shape[0];

    /// <summary>Predicted class per test row for every k in <see cref="KnnOptions.Ks"/>.</summary>
    public IReadOnlyList<KnnPredictions> Predict(Tensor testFeatures)
    {
        EmbeddingMath.RequireMatrix(testFeatures, nameof(testFeatures));
        if (testFeatures.shape[1] != train.shape[1])
            throw new ArgumentException($"Test features have width {testFeatures.shape[1]}, training features {train.shape[1]}.", nameof(testFeatures));

        using var _ = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        int maxK = (int)Math.Min(Options.Ks.Max(), TrainCount);
        var test = EmbeddingMath.Normalize(testFeatures.to(train.device));
        using var top = SimilaritySearch.TopK(test, train, maxK, Options.MemoryBudgetBytes);
        var weights = (top.Scores / Options.Temperature).softmax(1);     // [Q, maxK]
        var neighbourLabels = trainLabels[top.Indices];                  // [Q, maxK]
        long q = test.shape[0];

        var result = new List<KnnPredictions>(Options.Ks.Count);
        foreach (int k in Options.Ks)
        {
            int kk = Math.Min(k, maxK);
            var votes = torch.zeros([q, NumClasses], ScalarType.Float32, train.device)
                .scatter_add_(1, neighbourLabels.narrow(1, 0, kk), weights.narrow(1, 0, kk));   // [Q, C]
            using var predicted = votes.argmax(1).cpu();
            result.Add(new KnnPredictions(k, kk, predicted.data<long>().ToArray()));
        }
        return result;
    }

    /// <summary>Top-1 accuracy per k, and per-class accuracy and confusion matrix at the best (or chosen) k.</summary>
    public KnnResult Evaluate(Tensor testFeatures, Tensor testLabels)
    {
        EmbeddingMath.RequireMatrix(testFeatures, nameof(testFeatures));
        var truth = EmbeddingMath.RequireLabels(testLabels, testFeatures.shape[0], nameof(testLabels));
        if (Array.FindIndex(truth, l => l < 0 || l >= NumClasses) is int bad and >= 0)
            throw new ArgumentOutOfRangeException(nameof(testLabels), $"testLabels[{bad}] = {truth[bad]} is outside [0, {NumClasses}).");

        var perK = Predict(testFeatures)
            .Select(p => new KnnAccuracy(p.K, p.EffectiveK, ClassificationMetrics.Accuracy(p.Predicted, truth), p.Predicted))
            .ToList();
        var best = perK.OrderByDescending(a => a.Top1).ThenBy(a => a.K).First();
        var detail = Options.DetailK is int dk ? perK.First(a => a.K == dk) : best;
        var confusion = ClassificationMetrics.ConfusionMatrix(detail.Predicted, truth, NumClasses);
        return new KnnResult(perK, best.K, detail.K, ClassificationMetrics.PerClassAccuracy(confusion), confusion);
    }

    /// <summary>Frees the normalised copy of the training features and the labels.</summary>
    public void Dispose()
    {
        train.Dispose();
        trainLabels.Dispose();
    }
}
