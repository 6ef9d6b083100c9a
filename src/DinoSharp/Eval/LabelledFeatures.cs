using System.Globalization;
using DinoSharp.Data;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// Train and test features with their labels, the input of <see cref="KnnClassifier"/> and <see cref="LinearProbe"/>:
/// embedded from two labelled datasets with one model, or read from two embedding stores of one model.
/// </summary>
/// <param name="Model">What made the features (stores refuse to pair two identities).</param>
/// <param name="TrainX">[N, E] float32 CPU training features; owned by this record.</param>
/// <param name="TrainY">[N] int64 class indices.</param>
/// <param name="TestX">[M, E] float32 CPU test features.</param>
/// <param name="TestY">[M] int64 class indices.</param>
/// <param name="ClassNames">Name of each class index (the training set's, or "0", "1", … when it names none).</param>
public sealed record LabelledFeatures(ModelIdentity Model, Tensor TrainX, Tensor TrainY, Tensor TestX, Tensor TestY, IReadOnlyList<string> ClassNames)
    : IDisposable
{
    /// <summary>Embeds both datasets with <paramref name="embedder"/> (first <paramref name="limitTrain"/> / <paramref name="limitTest"/> images when given).</summary>
    /// <param name="embedder">The model.</param>
    /// <param name="train">Labelled training set.</param>
    /// <param name="test">Labelled test set.</param>
    /// <param name="limitTrain">Embed only this many training images; null: all.</param>
    /// <param name="limitTest">Embed only this many test images; null: all.</param>
    /// <param name="options">Batch size and callbacks for both sets (their Start and End are replaced by the limits).</param>
    /// <exception cref="ArgumentException">A dataset has no labels.</exception>
    public static LabelledFeatures Embed(IImageEmbedder embedder, IImageDataset train, IImageDataset test, int? limitTrain = null, int? limitTest = null,
        DatasetEmbeddingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        RequireLabels(train);
        RequireLabels(test);
        options ??= new DatasetEmbeddingOptions();
        using var a = DatasetEmbedder.Embed(embedder, train, options with { Start = 0, End = limitTrain });
        using var b = DatasetEmbedder.Embed(embedder, test, options with { Start = 0, End = limitTest });
        return FromEmbedded(embedder.Identity, a, b, train.ClassNames);
    }

    /// <summary>Pairs two embedded labelled sets of one model (copies their tensors; the inputs stay the caller's).</summary>
    /// <param name="model">The model both were embedded with.</param>
    /// <param name="train">Embedded training set.</param>
    /// <param name="test">Embedded test set.</param>
    /// <param name="classNames">The training set's class names; null: "0", "1", ….</param>
    /// <exception cref="ArgumentException">A set has unlabelled rows.</exception>
    public static LabelledFeatures FromEmbedded(ModelIdentity model, EmbeddedDataset train, EmbeddedDataset test, IReadOnlyList<string>? classNames)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        if (!train.IsLabelled || !test.IsLabelled)
            throw new ArgumentException($"The {(train.IsLabelled ? "test" : "training")} set has unlabelled images: kNN and the linear probe need a label for every image.");
        var classes = classNames ?? NumberedClasses(Math.Max(train.Labels.Max(), test.Labels.Max()) + 1);
        return new LabelledFeatures(model, train.Embeddings.clone(), torch.tensor(train.Labels), test.Embeddings.clone(), torch.tensor(test.Labels), classes);
    }

    /// <summary>Throws unless <paramref name="dataset"/> has labels (checked on its first image, before any embedding).</summary>
    /// <exception cref="ArgumentException">It has none.</exception>
    public static void RequireLabels(IImageDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count == 0 || dataset.Label(0) is null)
            throw new ArgumentException($"{dataset.Name} has no labels (use a folder with one sub-folder per class, a labelled list, or IDX labels).");
    }

    /// <summary>The features of two labelled stores of one model.</summary>
    /// <exception cref="EmbeddingStoreMismatchException">The stores come from different models.</exception>
    /// <exception cref="ArgumentException">A store has no labels.</exception>
    public static LabelledFeatures FromStores(EmbeddingStore train, EmbeddingStore test)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        if (train.Identity != test.Identity)
            throw new EmbeddingStoreMismatchException($"{train.BasePath} and {test.BasePath} come from different models ({train.Identity} vs {test.Identity}).");
        foreach (var s in new[] { train, test })
            if (!s.HasLabels) throw new ArgumentException($"{s.BasePath} has no labels: embed a labelled dataset (a folder with one sub-folder per class, a labelled list, or IDX labels).");
        var classes = train.ClassNames.Count > 0 ? train.ClassNames.ToList() : NumberedClasses(Math.Max(train.Labels.Max(), test.Labels.Max()) + 1);
        return new LabelledFeatures(train.Identity, train.Embeddings.clone(), train.LabelTensor(), test.Embeddings.clone(), test.LabelTensor(), classes);
    }

    static List<string> NumberedClasses(long count) =>
        Enumerable.Range(0, (int)count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();

    /// <summary>Disposes the four tensors.</summary>
    public void Dispose()
    {
        TrainX.Dispose();
        TrainY.Dispose();
        TestX.Dispose();
        TestY.Dispose();
    }
}
