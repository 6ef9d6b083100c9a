// From a run folder written by `dino train` to kNN and linear-probe accuracies, with library calls only:
//   dotnet run --project samples/RunToScores -c Release -- RUN TRAIN_DATASET TEST_DATASET [TRAIN_LIMIT] [TEST_LIMIT]
//   dotnet run --project samples/RunToScores -c Release -- runs/fmnist fashion-mnist:train fashion-mnist:test 5000 1000
using System.Globalization;
using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

if (args.Length is < 3 or > 5)
{
    Console.Error.WriteLine("usage: RunToScores RUN TRAIN_DATASET TEST_DATASET [TRAIN_LIMIT] [TEST_LIMIT]");
    return 1;
}
int? Limit(int i) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : null;

// The teacher backbone of the run (model.json says its architecture and preprocessing), class-token features.
using var embedder = ModelResolver.Open(args[0], FeatureKind.Cls);
var (trainX, trainY, classes) = Embed(embedder, DatasetSpec.Open(args[1]), Limit(3));
var (testX, testY, _) = Embed(embedder, DatasetSpec.Open(args[2]), Limit(4));

// DINOv2's weighted kNN: cosine similarity, votes exp(sim / 0.07), k = 10, 20, 100, 200.
using (var knn = new KnnClassifier(trainX, trainY, classes))
{
    var result = knn.Evaluate(testX, testY);
    foreach (var a in result.PerK)
        Console.WriteLine($"kNN k={a.K}: {a.Top1.ToString("R", CultureInfo.InvariantCulture)}");
}

// Linear probe: each feature standardised with the training set's statistics (what `dino linear` does), then a grid
// of learning rates trained together, the best on a validation split of the training set.
using var mean = trainX.mean([0], keepdim: true);
using var std = trainX.std([0], keepdim: true).clamp_min(1e-6);
using var trainZ = (trainX - mean) / std;
using var testZ = (testX - mean) / std;
var probe = new LinearProbe(new LinearProbeOptions()).Run(trainZ, trainY, testZ, testY, classes);
Console.WriteLine($"linear probe: {probe.TestAccuracy.ToString("R", CultureInfo.InvariantCulture)} (best lr {probe.BestLearningRate.ToString("R", CultureInfo.InvariantCulture)})");
return 0;

// Embeds the first `limit` images of a labelled dataset in batches: [N, D] features, [N] labels, the class count.
static (Tensor Features, Tensor Labels, int Classes) Embed(IImageEmbedder embedder, IImageDataset dataset, int? limit)
{
    int n = Math.Min(limit ?? dataset.Count, dataset.Count);
    var parts = new List<Tensor>();
    var labels = new long[n];
    for (int start = 0; start < n; start += 256)
    {
        var images = new List<RgbImage>();
        for (int i = start; i < Math.Min(start + 256, n); i++)
        {
            images.Add(dataset.Load(i));
            labels[i] = dataset.Label(i) ?? throw new ArgumentException($"{dataset.Name}: image {i} has no label.");
        }
        parts.Add(embedder.Embed(images));
    }
    int classes = dataset.ClassNames?.Count ?? (int)labels.Max() + 1;
    return (torch.cat(parts, 0), torch.tensor(labels), classes);
}
