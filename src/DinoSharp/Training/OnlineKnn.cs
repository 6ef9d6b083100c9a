using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>
/// kNN accuracy of the teacher's cls features during training, on fixed labelled subsets that are decoded and
/// preprocessed once (seeded choice of images).
/// </summary>
public sealed class OnlineKnn
{
    readonly Tensor trainImages, trainLabels, testImages, testLabels;
    readonly int numClasses;

    OnlineKnn(Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels, int numClasses)
    {
        this.trainImages = trainImages;
        this.trainLabels = trainLabels;
        this.testImages = testImages;
        this.testLabels = testLabels;
        this.numClasses = numClasses;
    }

    /// <summary>The online kNN for a config, or null (with a message) when its datasets have no labels or cannot be opened.</summary>
    public static OnlineKnn? TryCreate(DinoTrainingConfig config, VisionTransformerConfig backbone, ITrainingProgress progress)
    {
        var t = config.Train;
        IImageDataset train, test;
        try
        {
            train = DatasetSpec.Open(t.KnnTrainDataset);
            test = DatasetSpec.Open(t.KnnTestDataset);
        }
        catch (Exception e) when (e is ArgumentException or DatasetNotFoundException or IOException)
        {
            progress.Warning($"Online kNN is off: {e.Message}");
            return null;
        }
        if (train.Label(0) is null || test.Label(0) is null || train.ClassNames is null)
        {
            progress.Warning($"Online kNN is off: '{t.KnnTrainDataset}' or '{t.KnnTestDataset}' has no labels.");
            return null;
        }
        int size = config.Crops.GlobalCropsSize;
        var transform = size < 64 ? EvalTransform.Resize(size, backbone.PatchSize)
            : EvalTransform.ResizeCenterCrop((int)Math.Round(size * 256.0 / 224), size, backbone.PatchSize);
        var (xTrain, yTrain) = Load(train, t.KnnTrainImages, transform, t.Seed + 1);
        var (xTest, yTest) = Load(test, t.KnnTestImages, transform, t.Seed + 2);
        return new OnlineKnn(xTrain, yTrain, xTest, yTest, train.ClassNames.Count);
    }

    static (Tensor Images, Tensor Labels) Load(IImageDataset ds, int count, EvalTransform transform, int seed)
    {
        int n = Math.Min(count, ds.Count);
        var order = Enumerable.Range(0, ds.Count).ToArray();
        new Random(seed).Shuffle(order);
        var chosen = order.Take(n).Order().ToArray();
        var images = new List<RgbImage>(n);
        var labels = new List<long>(n);
        var unreadable = new UnreadableImages();   // the training loader already warns about each unreadable image
        foreach (var i in chosen)
        {
            if (!unreadable.TryLoad(ds, i, out var image)) continue;
            images.Add(image);
            labels.Add(ds.Label(i)!.Value);
        }
        var x = transform.ToBatch(images);
        return (x, torch.tensor(labels.ToArray()));
    }

    /// <summary>Weighted kNN top-1 at k = 20 (T = 0.07) of the backbone's cls features.</summary>
    public double Evaluate(DinoVisionTransformer backbone, Device device)
    {
        bool wasTraining = backbone.training;
        backbone.eval();
        try
        {
            using var scope = torch.NewDisposeScope();
            var trainFeatures = Features(backbone, trainImages, device);
            var testFeatures = Features(backbone, testImages, device);
            using var knn = new KnnClassifier(trainFeatures, trainLabels.to(device), numClasses, new KnnOptions { Ks = [20] });
            return knn.Evaluate(testFeatures, testLabels.to(device)).PerK[0].Top1;
        }
        finally
        {
            if (wasTraining) backbone.train();
        }
    }

    static Tensor Features(DinoVisionTransformer backbone, Tensor images, Device device)
    {
        using var _ = torch.inference_mode();
        var parts = new List<Tensor>();
        for (long i = 0; i < images.shape[0]; i += 512)
        {
            using var batch = images.narrow(0, i, Math.Min(512, images.shape[0] - i)).to(device);
            using var o = backbone.ForwardFeatures(batch);
            parts.Add(o.ClsToken.clone());
        }
        return torch.cat(parts, 0);
    }
}
