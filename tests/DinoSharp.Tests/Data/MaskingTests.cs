using DinoSharp.Data;
using TorchSharp;

namespace DinoSharp.Tests.Data;

public sealed class MaskingTests
{
    [Fact]
    public void Masks_never_exceed_the_target_and_usually_reach_it()
    {
        var gen = new MaskingGenerator(14, 14); // ViT/14 on 224 px: N = 196, rectangles up to 98 patches
        Assert.Equal(98, gen.MaxNumPatches);
        var rng = new DataRandom(11);
        int reached = 0, trials = 0;
        for (int target = 0; target <= 120; target += 3)
            for (int rep = 0; rep < 10; rep++)
            {
                bool[] m = gen.Generate(target, rng);
                int count = m.Count(v => v);
                Assert.InRange(count, 0, target);
                if (target >= 4) { trials++; if (count >= target - 3) reached++; }
            }
        Assert.True(reached > 0.8 * trials, $"only {reached}/{trials} masks came within 3 patches of the target");
        Assert.All(gen.Generate(0, rng), v => Assert.False(v));
    }

    [Fact]
    public void Batch_masks_follow_dinov2_ratio_buckets()
    {
        var collator = new MultiCropCollator(new MaskingGenerator(14, 14));
        var rng = new DataRandom(2);
        var ratios = new List<double>();
        for (int trial = 0; trial < 5; trial++)
        {
            bool[] flat = collator.SampleMasks(64, rng, out int upperbound); // B = 32 images, 64 global crops
            int[] counts = Enumerable.Range(0, 64).Select(r => flat.Skip(r * 196).Take(196).Count(v => v)).ToArray();
            // Half of the crops are masked, the rest are not.
            Assert.Equal(32, counts.Count(c => c > 0));
            Assert.True(counts.Sum() <= upperbound);
            // Σ int(196 · upper edge of bucket i), buckets of linspace(0.1, 0.5, 33).
            Assert.Equal(Enumerable.Range(1, 32).Sum(i => (int)(196 * (float)(0.1 + 0.4 * i / 32))), upperbound);
            Assert.All(counts, c => Assert.InRange(c, 0, 98));
            ratios.AddRange(counts.Where(c => c > 0).Select(c => c / 196.0));
        }
        Assert.InRange(ratios.Min(), 0.05, 0.13);
        Assert.InRange(ratios.Max(), 0.42, 0.5);
        // Buckets are spread evenly: about half the masks lie above the middle ratio 0.3.
        Assert.InRange(ratios.Count(r => r > 0.3) / (double)ratios.Count, 0.35, 0.6);
    }

    [Fact]
    public void Mask_indices_and_weights_match_a_hand_built_example()
    {
        bool[] masks =
        [
            true, false, true, false,
            false, false, false, false,
            false, true, true, true,
        ];
        (long[] idx, float[] w) = MultiCropCollator.MaskIndicesAndWeights(masks, 4);
        Assert.Equal([0L, 2, 9, 10, 11], idx);
        Assert.Equal([0.5f, 0.5f, 1f / 3, 1f / 3, 1f / 3], w);
    }

    [Fact]
    public void Collate_stacks_crop_major_and_the_mask_tensors_agree()
    {
        var aug = new MultiCropAugmentation(new CropConfig { GlobalCropsSize = 32, LocalCropsSize = 16, LocalCropsNumber = 2 });
        var collator = MultiCropCollator.ForCrops(aug.Config, patchSize: 4);
        Assert.Equal(64, collator.Masking.NumPatches);
        var samples = Enumerable.Range(0, 3).Select(i => aug.Apply(TestImages.Pattern(28, 28, i), (ulong)i, label: i)).ToList();
        using var batch = collator.Collate(samples, new DataRandom(1));

        Assert.Equal([6L, 3, 32, 32], batch.GlobalCrops.shape);
        Assert.Equal([6L, 3, 16, 16], batch.LocalCrops.shape);
        Assert.Equal([6L, 64], batch.Masks.shape);
        Assert.Equal(torch.ScalarType.Bool, batch.Masks.dtype);
        // Row c·B + b is crop c of image b.
        Assert.Equal(samples[2].GlobalCrops[1], batch.GlobalCrops[5].flatten().data<float>().ToArray());
        Assert.Equal(samples[0].GlobalCrops[1], batch.GlobalCrops[3].flatten().data<float>().ToArray());
        Assert.Equal(samples[1].LocalCrops[1], batch.LocalCrops[4].flatten().data<float>().ToArray());
        Assert.Equal([0L, 1, 2], batch.Labels!.data<long>().ToArray());

        using var expected = batch.Masks.flatten().nonzero().flatten();
        Assert.Equal(expected.data<long>().ToArray(), batch.MaskIndices.data<long>().ToArray());
        Assert.Equal(batch.NumMaskedPatches, (int)batch.MaskIndices.shape[0]);
        Assert.Equal(3, batch.Masks.any(1).sum().item<long>()); // int(6 · 0.5) masked crops
        using var counts = batch.Masks.sum(1).clamp_min(1).to(torch.ScalarType.Float32);
        using var expectedWeights = (1 / counts).unsqueeze(-1).expand_as(batch.Masks).masked_select(batch.Masks);
        Assert.Equal(expectedWeights.data<float>().ToArray(), batch.MasksWeight.data<float>().ToArray());
        // Each masked image's weights sum to 1.
        Assert.Equal(3f, batch.MasksWeight.sum().item<float>(), 4);
    }
}
