using DinoSharp.Data;
using SkiaSharp;

namespace DinoSharp.Tests.Data;

public sealed class DataLoaderTests
{
    static readonly CropConfig Small = new() { GlobalCropsSize = 32, LocalCropsSize = 16, LocalCropsNumber = 2 };

    static MultiCropDataLoader Loader(IImageDataset ds, int workers, int batch = 8, ulong seed = 99, Action<string>? log = null)
    {
        var aug = new MultiCropAugmentation(Small);
        return new MultiCropDataLoader(ds, aug, MultiCropCollator.ForCrops(Small, 4), batch, seed, workers, prefetchBatches: 3, log);
    }

    static byte[][] Bytes(MultiCropBatch b) =>
    [
        b.GlobalCrops.bytes.ToArray(), b.LocalCrops.bytes.ToArray(), b.Masks.bytes.ToArray(),
        b.MaskIndices.bytes.ToArray(), b.MasksWeight.bytes.ToArray(), b.Labels!.bytes.ToArray(),
    ];

    static List<byte[][]> Take(MultiCropDataLoader loader, long start, int count)
    {
        var result = new List<byte[][]>();
        foreach (var batch in loader.Batches(start))
        {
            using (batch) result.Add(Bytes(batch));
            if (result.Count == count) break;
        }
        return result;
    }

    [Fact]
    public void Same_seed_gives_identical_batches_with_one_or_two_workers_and_on_resume()
    {
        using var t = new TestImages();
        (string images, string labels) = t.FakeFashion(44);
        var ds = new IdxDataset(images, labels);
        var one = Take(Loader(ds, workers: 1), 0, 7); // 5 batches per epoch: crosses into epoch 1
        var two = Take(Loader(ds, workers: 2), 0, 7);
        for (int i = 0; i < 7; i++)
            for (int k = 0; k < one[i].Length; k++)
                Assert.Equal(one[i][k], two[i][k]);

        var resumed = Take(Loader(ds, workers: 2), 4, 3);
        for (int i = 0; i < 3; i++)
            Assert.Equal(one[4 + i][0], resumed[i][0]);

        var otherSeed = Take(Loader(ds, workers: 1, seed: 100), 0, 1);
        Assert.NotEqual(one[0][0], otherSeed[0][0]);
        Assert.NotEqual(one[0][0], one[5][0]); // epoch 1 is reshuffled and re-augmented
    }

    [Fact]
    public void Each_epoch_visits_every_image_once()
    {
        using var t = new TestImages();
        (string images, string labels) = t.FakeFashion(20);
        var loader = Loader(new IdxDataset(images, labels), workers: 1, batch: 6);
        Assert.Equal(3, loader.BatchesPerEpoch);
        Assert.Equal(Enumerable.Range(0, 20), loader.EpochOrder(3).Order());
        Assert.NotEqual(loader.EpochOrder(0), loader.EpochOrder(1));
        Assert.Equal(loader.EpochOrder(2), loader.EpochOrder(2).ToArray());
    }

    [Fact]
    public void Bad_images_are_skipped_with_a_warning_naming_them_and_counted()
    {
        using var t = new TestImages();
        for (int i = 0; i < 6; i++)
            t.Write($"good{i}.png", TestImages.Png(TestImages.Pattern(20 + i, 18, i)));
        t.Write("sub.jpg/inside.jpg", TestImages.Encode(TestImages.Pattern(24, 24), SKEncodedImageFormat.Jpeg)); // a folder named like an image
        byte[] png = TestImages.Png(TestImages.Pattern(40, 40));
        string[] bad =
        [
            t.Write("corrupt.jpg", [0xFF, 0xD8, 0xFF, 0xE0, .. Enumerable.Range(0, 500).Select(i => (byte)(i * 91))]),
            t.Write("truncated.png", png[..(png.Length / 3)]),
            t.Write("zero.jpg", []),
            t.Write("text.jpg", "hello, not a jpeg"u8.ToArray()),
            Path.Combine(t.Folder, "dangling.png"),
        ];
        File.CreateSymbolicLink(bad[^1], Path.Combine(t.Folder, "does-not-exist.png"));

        var ds = new FolderDataset(t.Folder);
        Assert.Equal(12, ds.Count);
        var warnings = new List<string>();
        var loader = Loader(ds, workers: 2, batch: 4, log: w => { lock (warnings) warnings.Add(w); });
        int seen = 0;
        foreach (var batch in loader.Batches())
        {
            using (batch)
            {
                Assert.Equal([8L, 3, 32, 32], batch.GlobalCrops.shape);
                Assert.False(batch.GlobalCrops.isnan().any().item<bool>());
            }
            if (++seen == 3) break; // one full epoch: every file was tried
        }
        Assert.Equal(bad.Length, loader.SkippedCount);
        Assert.Equal(bad.Length, warnings.Count);
        foreach (string f in bad)
            Assert.Single(warnings, w => w.Contains(f));
    }

    [Fact]
    public void A_dataset_with_no_loadable_image_fails_with_a_clear_message()
    {
        using var t = new TestImages();
        t.Write("a.jpg", []);
        t.Write("b.jpg", []);
        var loader = Loader(new FolderDataset(t.Folder), workers: 1, batch: 2);
        var e = Assert.Throws<InvalidOperationException>(() => loader.Batches().First().Dispose());
        Assert.Contains("could be loaded", e.InnerException!.Message);
    }

    [Fact]
    public void Eval_transform_stretches_or_centre_crops_and_normalises()
    {
        var grey = new RgbImage(28, 28, Enumerable.Repeat((byte)128, 28 * 28 * 3).ToArray());
        using var batch = EvalTransform.Resize(32, patchSize: 4).ToBatch([grey, TestImages.Pattern(28, 28)]);
        Assert.Equal([2L, 3, 32, 32], batch.shape);
        Assert.Equal((128 / 255f - 0.485f) / 0.229f, batch[0, 0, 5, 7].item<float>(), 4);
        Assert.Equal((128 / 255f - 0.406f) / 0.225f, batch[0, 2, 31, 0].item<float>(), 4);

        var crop = EvalTransform.ResizeCenterCrop(8, 4);
        var wide = TestImages.Pattern(80, 40);
        var dst = new float[3 * 16];
        crop.Apply(wide, dst);
        // 80×40 → 16×8, centre 4×4 = source columns 30..49, rows 10..29: red ramps around x≈40.
        float red = dst[1 * 4 + 1] * 0.229f + 0.485f;
        Assert.InRange(red, 0.4f, 0.6f);
        Assert.Throws<ArgumentException>(() => EvalTransform.Resize(30, patchSize: 4));
        Assert.Equal(256, EvalTransform.ForCrop(224, 14).ResizeShorter);
    }
}
