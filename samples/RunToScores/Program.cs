// From a run folder written by `dino train` to kNN and linear-probe accuracies, with library calls only:
//   dotnet run --project samples/RunToScores -c Release -- RUN TRAIN_DATASET TEST_DATASET [TRAIN_LIMIT] [TEST_LIMIT]
//   dotnet run --project samples/RunToScores -c Release -- runs/fmnist fashion-mnist:train fashion-mnist:test 5000 1000
using System.Globalization;
using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;

if (args.Length is < 3 or > 5)
{
    Console.Error.WriteLine("usage: RunToScores RUN TRAIN_DATASET TEST_DATASET [TRAIN_LIMIT] [TEST_LIMIT]");
    return 1;
}
int? Limit(int i) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : null;

// The teacher backbone of the run (model.json says its architecture and preprocessing), class-token features of both
// labelled sets (unreadable images are skipped with a warning, as every dino verb does).
using var embedder = ModelResolver.Open(args[0], FeatureKind.Cls);
using var features = LabelledFeatures.Embed(embedder, DatasetSpec.Open(args[1]), DatasetSpec.Open(args[2]), Limit(3), Limit(4));
int classes = features.ClassNames.Count;

// DINOv2's weighted kNN: cosine similarity, votes exp(sim / 0.07), k = 10, 20, 100, 200.
using (var knn = new KnnClassifier(features.TrainX, features.TrainY, classes))
{
    var result = knn.Evaluate(features.TestX, features.TestY);
    foreach (var a in result.PerK)
        Console.WriteLine($"kNN k={a.K}: {a.Top1.ToString("R", CultureInfo.InvariantCulture)}");
}

// Linear probe: features standardised with the training set's statistics (LinearProbeOptions.StandardizeFeatures, on by
// default, what `dino linear` does), a grid of learning rates trained together, the best on a validation split.
var probe = new LinearProbe(new LinearProbeOptions()).Run(features.TrainX, features.TrainY, features.TestX, features.TestY, classes);
Console.WriteLine($"linear probe: {probe.TestAccuracy.ToString("R", CultureInfo.InvariantCulture)} (best lr {probe.BestLearningRate.ToString("R", CultureInfo.InvariantCulture)})");
return 0;
