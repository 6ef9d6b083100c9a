using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// DINOv2's linear evaluation on frozen features (dinov2/eval/linear.py): one linear layer per learning rate of a grid,
/// all trained together as a single batched weight [L, D, C] (L = grid size) on the same mini-batches, each with its
/// own SGD (momentum 0.9, no dampening, weight decay 0) and a cosine schedule to zero over all iterations
/// (CosineAnnealingLR, eta_min = 0). Weights start as N(0, 0.01²), biases at 0, as in DINOv2's LinearClassifier.
/// Features are used raw, with no standardisation or BatchNorm, as DINOv2 does. The gradient of the softmax
/// cross-entropy is written out ((softmax − onehot) / B) rather than taken from autograd, so the loop builds no graph.
/// The learning rate is picked on a seeded validation split carved from the training rows and only the test accuracy
/// of that choice is reported; the classifier is not retrained on the full training set.
/// </summary>
public sealed class LinearProbe
{
    const int EvalRows = 4096;   // rows per block when scoring, bounding the [L, rows, C] logits

    /// <summary>A probe with <paramref name="options"/> (null: DINOv2's grid and schedule).</summary>
    /// <exception cref="ArgumentException">No learning rate, or one that is not positive.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Epochs or BatchSize is not positive, Momentum is outside [0, 1), WeightDecay is negative, or ValidationFraction is outside (0, 1).</exception>
    public LinearProbe(LinearProbeOptions? options = null)
    {
        Options = options ?? new LinearProbeOptions();
        if (Options.LearningRates is null || Options.LearningRates.Count == 0 || Options.LearningRates.Any(lr => !(lr > 0)))
            throw new ArgumentException("LinearProbeOptions.LearningRates must list at least one positive learning rate.", nameof(options));
        if (Options.Epochs <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"LinearProbeOptions.Epochs must be positive, got {Options.Epochs}.");
        if (Options.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"LinearProbeOptions.BatchSize must be positive, got {Options.BatchSize}.");
        if (Options.Momentum is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(options), $"LinearProbeOptions.Momentum must be in [0, 1), got {Options.Momentum}.");
        if (Options.WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(options), $"LinearProbeOptions.WeightDecay must be ≥ 0, got {Options.WeightDecay}.");
        if (Options.ValidationFraction is <= 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"LinearProbeOptions.ValidationFraction must be in (0, 1), got {Options.ValidationFraction}.");
    }

    /// <summary>The grid, schedule and validation split in use.</summary>
    public LinearProbeOptions Options { get; }

    /// <summary>Trains one classifier per learning rate of the grid, picks the best on the validation split, and scores it on the test set.</summary>
    /// <param name="trainFeatures">[N, D] frozen features (see <see cref="LinearProbeFeatures"/>); a share is held out for validation.</param>
    /// <param name="trainLabels">[N] class indices.</param>
    /// <param name="testFeatures">[M, D] features the chosen classifier is scored on.</param>
    /// <param name="testLabels">[M] class indices.</param>
    /// <param name="numClasses">Number of classes C.</param>
    public LinearProbeResult Run(Tensor trainFeatures, Tensor trainLabels, Tensor testFeatures, Tensor testLabels, int numClasses)
    {
        EmbeddingMath.RequireMatrix(trainFeatures, nameof(trainFeatures));
        EmbeddingMath.RequireMatrix(testFeatures, nameof(testFeatures));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        if (testFeatures.shape[1] != trainFeatures.shape[1])
            throw new ArgumentException($"Test features have width {testFeatures.shape[1]}, training features {trainFeatures.shape[1]}.", nameof(testFeatures));
        var trainY = CheckLabels(trainLabels, trainFeatures.shape[0], numClasses, nameof(trainLabels));
        var testY = CheckLabels(testLabels, testFeatures.shape[0], numClasses, nameof(testLabels));
        long n = trainFeatures.shape[0];
        long nVal = Math.Max(1, (long)Math.Round(n * Options.ValidationFraction));
        if (n - nVal < 1)
            throw new ArgumentException($"{n} training rows leave none to train on after holding out {nVal} for validation.", nameof(trainFeatures));

        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var device = trainFeatures.device;
        using var gen = new Generator((ulong)Options.Seed, device);
        var x = trainFeatures.to(ScalarType.Float32);
        var test = testFeatures.to(ScalarType.Float32);
        if (Options.StandardizeFeatures) (x, test) = Standardize(x, test);
        var y = torch.tensor(trainY, ScalarType.Int64, device);
        var split = torch.randperm(n, generator: gen, device: device);
        var valIdx = split.narrow(0, 0, nVal);
        var fitIdx = split.narrow(0, nVal, n - nVal);
        var (xFit, yFit) = (x[fitIdx], y[fitIdx]);
        var (xVal, yVal) = (x[valIdx], y[valIdx]);

        var (weight, bias) = Train(xFit, yFit, numClasses, gen);       // [L, D, C], [L, 1, C]

        var scores = Score(xVal, yVal, weight, bias);
        int best = Enumerable.Range(0, scores.Count)
            .Where(i => !scores[i].Diverged)
            .OrderByDescending(i => scores[i].ValidationAccuracy).ThenBy(i => scores[i].ValidationLoss).ThenBy(i => i)
            .DefaultIfEmpty(-1).First();
        if (best < 0)
            throw new InvalidOperationException("Every learning rate of the grid diverged (NaN or infinite weights); check the features for NaN or extreme scale.");

        var xTest = test.to(device);
        var predicted = Predict(xTest, weight[best], bias[best]);
        var confusion = ClassificationMetrics.ConfusionMatrix(predicted, testY, numClasses);
        return new LinearProbeResult(Options.LearningRates[best], scores, ClassificationMetrics.Accuracy(predicted, testY),
            ClassificationMetrics.PerClassAccuracy(confusion), confusion, predicted);
    }

    /// <summary>Both sets standardised per dimension with the training set's mean and unbiased standard deviation (floored at 1e-6).</summary>
    static (Tensor Train, Tensor Test) Standardize(Tensor train, Tensor test)
    {
        var mean = train.mean([0], keepdim: true);
        var std = train.std([0], keepdim: true).clamp_min(1e-6);
        return ((train - mean) / std, (test.to(train.device) - mean) / std);
    }

    (Tensor Weight, Tensor Bias) Train(Tensor x, Tensor y, int numClasses, Generator gen)
    {
        int lrCount = Options.LearningRates.Count;
        long n = x.shape[0], d = x.shape[1];
        long stepsPerEpoch = (n + Options.BatchSize - 1) / Options.BatchSize;
        long totalSteps = stepsPerEpoch * Options.Epochs;
        var device = x.device;
        var baseLr = torch.tensor(Options.LearningRates.Select(lr => (float)(lr * Options.BatchSize / 256.0)).ToArray(), device: device)
            .reshape(lrCount, 1, 1);

        var weight = torch.randn([lrCount, d, numClasses], generator: gen, device: device).mul_(0.01);   // [L, D, C]
        var bias = torch.zeros([lrCount, 1, numClasses], device: device);                                 // [L, 1, C]
        var momentumW = torch.zeros_like(weight);
        var momentumB = torch.zeros_like(bias);

        long step = 0;
        for (int epoch = 0; epoch < Options.Epochs; epoch++)
        {
            using var order = torch.randperm(n, generator: gen, device: device);
            for (long start = 0; start < n; start += Options.BatchSize, step++)
            {
                using var stepScope = torch.NewDisposeScope();
                long b = Math.Min(Options.BatchSize, n - start);
                var idx = order.narrow(0, start, b);
                var xb = x[idx];                                                       // [B, D]
                var onehot = nn.functional.one_hot(y[idx], numClasses).to(ScalarType.Float32);   // [B, C]
                var logits = torch.matmul(xb, weight) + bias;                         // [L, B, C]
                var dLogits = (logits.softmax(-1) - onehot) / b;                      // ∂ mean CE / ∂ logits
                var gradW = torch.matmul(xb.t(), dLogits);                            // [L, D, C]
                var gradB = dLogits.sum(1, keepdim: true);                            // [L, 1, C]
                if (Options.WeightDecay > 0) gradW.add_(weight, alpha: Options.WeightDecay);
                momentumW.mul_(Options.Momentum).add_(gradW);
                momentumB.mul_(Options.Momentum).add_(gradB);
                double cosine = 0.5 * (1 + Math.Cos(Math.PI * step / totalSteps));
                var lr = baseLr * cosine;
                weight.sub_(lr * momentumW);
                bias.sub_(lr * momentumB);
            }
        }
        return (weight, bias);
    }

    List<LearningRateScore> Score(Tensor x, Tensor y, Tensor weight, Tensor bias)
    {
        int lrCount = (int)weight.shape[0];
        var correct = new long[lrCount];
        var lossSum = new double[lrCount];
        long n = x.shape[0];
        for (long start = 0; start < n; start += EvalRows)
        {
            using var scope = torch.NewDisposeScope();
            long b = Math.Min(EvalRows, n - start);
            var xb = x.narrow(0, start, b);
            var yb = y.narrow(0, start, b);
            var logits = torch.matmul(xb, weight) + bias;                             // [L, B, C]
            var nll = -logits.log_softmax(-1).gather(2, yb.reshape(1, b, 1).expand(lrCount, b, 1)).squeeze(2);   // [L, B]
            using var hits = (logits.argmax(-1) == yb.unsqueeze(0)).sum(1).cpu();
            using var losses = nll.to(ScalarType.Float64).sum(1).cpu();
            var h = hits.data<long>().ToArray();
            var l = losses.data<double>().ToArray();
            for (int i = 0; i < lrCount; i++) { correct[i] += h[i]; lossSum[i] += l[i]; }
        }
        using var finite = (weight.isfinite().reshape(lrCount, -1).all(1) & bias.isfinite().reshape(lrCount, -1).all(1)).cpu();
        var ok = finite.data<bool>().ToArray();
        return Enumerable.Range(0, lrCount).Select(i => ok[i] && double.IsFinite(lossSum[i])
            ? new LearningRateScore(Options.LearningRates[i], (double)correct[i] / n, lossSum[i] / n, false)
            : new LearningRateScore(Options.LearningRates[i], 0, double.PositiveInfinity, true)).ToList();
    }

    static long[] Predict(Tensor x, Tensor weight, Tensor bias)
    {
        var parts = new List<long>((int)x.shape[0]);
        for (long start = 0; start < x.shape[0]; start += EvalRows)
        {
            using var scope = torch.NewDisposeScope();
            var xb = x.narrow(0, start, Math.Min(EvalRows, x.shape[0] - start));
            using var p = (torch.matmul(xb, weight) + bias).argmax(-1).cpu();        // [B]
            parts.AddRange(p.data<long>().ToArray());
        }
        return [.. parts];
    }

    static long[] CheckLabels(Tensor labels, long rows, int numClasses, string name)
    {
        var values = EmbeddingMath.RequireLabels(labels, rows, name);
        if (Array.FindIndex(values, l => l < 0 || l >= numClasses) is int bad and >= 0)
            throw new ArgumentOutOfRangeException(name, $"{name}[{bad}] = {values[bad]} is outside [0, {numClasses}).");
        return values;
    }
}
