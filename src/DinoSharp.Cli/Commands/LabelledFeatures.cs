using DinoSharp.Data;
using DinoSharp.Eval;

namespace DinoSharp.Cli.Commands;

/// <summary>--train / --test of kNN and linear: two dataset strings embedded with --model (with progress), or two store:&lt;path&gt; stores; the protocol is <see cref="LabelledFeatures"/>.</summary>
internal static class LabelledFeatureArguments
{
    public static LabelledFeatures Load(ModelSettings s, string train, string test, int? limitTrain, int? limitTest)
    {
        if (string.IsNullOrWhiteSpace(train) || string.IsNullOrWhiteSpace(test))
            throw new UserErrorException("--train and --test are required (dataset strings, or store:<path> for embedding stores).");
        if (train.StartsWith("store:", StringComparison.Ordinal) && test.StartsWith("store:", StringComparison.Ordinal))
        {
            using var a = EmbeddingStore.Open(train[6..]);
            using var b = EmbeddingStore.Open(test[6..]);
            return LabelledFeatures.FromStores(a, b);
        }
        var trainSet = DatasetSpec.Open(train);
        var testSet = DatasetSpec.Open(test);
        LabelledFeatures.RequireLabels(trainSet);
        LabelledFeatures.RequireLabels(testSet);
        using var embedder = s.OpenModel(trainSet.Load(0).Width);
        using var a2 = DatasetEmbedding.Embed(embedder, trainSet, s.BatchSize, s.Quiet, train, limitTrain);
        using var b2 = DatasetEmbedding.Embed(embedder, testSet, s.BatchSize, s.Quiet, test, limitTest);
        return LabelledFeatures.FromEmbedded(embedder.Identity, a2, b2, trainSet.ClassNames);
    }
}
