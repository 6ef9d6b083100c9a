using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Cli.Commands;

/// <summary>Train and test features with labels, from datasets (embedded with --model) or from embedding stores.</summary>
internal sealed record LabelledFeatures(string Model, Tensor TrainX, Tensor TrainY, Tensor TestX, Tensor TestY, IReadOnlyList<string> ClassNames)
{
    public static LabelledFeatures Load(ModelSettings s, string train, string test, int? limitTrain, int? limitTest)
    {
        if (string.IsNullOrWhiteSpace(train) || string.IsNullOrWhiteSpace(test))
            throw new UserErrorException("--train and --test are required (dataset strings, or store:<path> for embedding stores).");
        if (train.StartsWith("store:", StringComparison.Ordinal) && test.StartsWith("store:", StringComparison.Ordinal))
        {
            using var a = EmbeddingStore.Open(train[6..]);
            using var b = EmbeddingStore.Open(test[6..]);
            if (a.Identity != b.Identity)
                throw new UserErrorException($"{train[6..]} and {test[6..]} come from different models ({a.Identity} vs {b.Identity}).");
            if (!a.HasLabels || !b.HasLabels) throw new UserErrorException("Both stores need labels for kNN.");
            return new LabelledFeatures(a.Identity.ToString(), a.Embeddings.clone(), a.LabelTensor(), b.Embeddings.clone(), b.LabelTensor(),
                a.ClassNames.Count > 0 ? a.ClassNames.ToList() : Enumerable.Range(0, (int)Math.Max(a.Labels.Max(), b.Labels.Max()) + 1).Select(i => i.ToString()).ToList());
        }
        var trainSet = DatasetSpec.Open(train);
        var testSet = DatasetSpec.Open(test);
        if (trainSet.Label(0) is null) throw new UserErrorException($"{train} has no labels (use a folder with one sub-folder per class, a labelled list, or IDX labels).");
        if (testSet.Label(0) is null) throw new UserErrorException($"{test} has no labels.");
        int rawSize = trainSet.Load(0).Width;
        using var embedder = s.OpenModel(rawSize);
        var a2 = DatasetEmbedding.Embed(embedder, trainSet, s.BatchSize, s.Quiet, train, limitTrain);
        var b2 = DatasetEmbedding.Embed(embedder, testSet, s.BatchSize, s.Quiet, test, limitTest);
        var classes = trainSet.ClassNames ?? Enumerable.Range(0, (int)Math.Max(a2.Labels.Max(), b2.Labels.Max()) + 1).Select(i => i.ToString()).ToList();
        return new LabelledFeatures(embedder.Identity.ToString(), a2.Embeddings, torch.tensor(a2.Labels), b2.Embeddings, torch.tensor(b2.Labels), classes);
    }
}
