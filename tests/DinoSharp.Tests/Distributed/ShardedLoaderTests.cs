using DinoSharp.Data;
using DinoSharp.Distributed;
using DinoSharp.Tests.Data;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Distributed;

/// <summary>The data-parallel split: rank i of n builds its part of global batch k exactly as one process does.</summary>
public sealed class ShardedLoaderTests
{
    static readonly CropConfig Small = new() { GlobalCropsSize = 32, LocalCropsSize = 16, LocalCropsNumber = 2 };

    static MultiCropDataLoader Loader(IImageDataset ds, int batch, Shard? shard = null) =>
        new(ds, new MultiCropAugmentation(Small), MultiCropCollator.ForCrops(Small, 4), batch, 7, workers: 1, shard: shard);

    [Fact]
    public void Shards_of_a_global_batch_hold_its_crops_masks_and_labels()
    {
        using var t = new TestImages();
        (string images, string labels) = t.FakeFashion(30);
        var ds = new IdxDataset(images, labels);
        const int batch = 12, ranks = 3, b = batch / ranks;
        for (long iteration = 0; iteration < 4; iteration++)
        {
            using var whole = Loader(ds, batch).BuildBatch(iteration);
            int masked = 0;
            for (int r = 0; r < ranks; r++)
            {
                using var part = Loader(ds, batch, new Shard(r, ranks)).BuildBatch(iteration);
                Assert.Equal(b, part.BatchSize);
                // Crop-major rows: the shard's images in each global crop, then in each local crop.
                for (int crop = 0; crop < 2; crop++)
                {
                    Assert.True(whole.GlobalCrops.narrow(0, crop * batch + r * b, b).equal(part.GlobalCrops.narrow(0, crop * b, b)).all().item<bool>());
                    Assert.True(whole.Masks.narrow(0, crop * batch + r * b, b).equal(part.Masks.narrow(0, crop * b, b)).all().item<bool>());
                }
                for (int crop = 0; crop < Small.LocalCropsNumber; crop++)
                    Assert.True(whole.LocalCrops.narrow(0, crop * batch + r * b, b).equal(part.LocalCrops.narrow(0, crop * b, b)).all().item<bool>());
                Assert.True(whole.Labels!.narrow(0, r * b, b).equal(part.Labels!).all().item<bool>());
                Assert.Equal(whole.NumMaskedPatches, part.TotalMaskedPatches);
                using var weights = MultiCropCollatorWeights(part.Masks);
                Assert.True(weights.allclose(part.MasksWeight));
                masked += part.NumMaskedPatches;
            }
            Assert.Equal(whole.NumMaskedPatches, masked);
        }
    }

    [Fact]
    public void A_global_batch_that_does_not_split_evenly_is_refused()
    {
        using var t = new TestImages();
        (string images, string labels) = t.FakeFashion(30);
        var e = Assert.Throws<ArgumentException>(() => Loader(new IdxDataset(images, labels), 10, new Shard(0, 3)));
        Assert.Contains("multiple of 3", e.Message);
    }

    static Tensor MultiCropCollatorWeights(Tensor masks) =>
        tensor(MultiCropCollator.MaskIndicesAndWeights(masks.data<bool>().ToArray(), (int)masks.shape[1]).Weights);
}
