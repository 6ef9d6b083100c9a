using DinoSharp.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Data;

/// <summary>
/// dinov2's collate_data_and_cast: stacks crops crop-major and draws the iBOT masks. Of the 2B global crops,
/// n = int(2B · maskProbability) get a mask whose ratio is drawn uniformly inside bucket i of
/// linspace(ratioMin, ratioMax, n + 1); the others get none; the list of masks is then shuffled.
/// </summary>
public sealed class MultiCropCollator
{
    /// <summary>A collator drawing masks with <paramref name="masking"/>.</summary>
    /// <param name="masking">Draws the block masks on the global crop's patch grid.</param>
    /// <param name="maskProbability">Fraction of global crops that get a mask (ibot.mask_sample_probability).</param>
    /// <param name="maskRatioMin">Lower end of the masked-patch ratio range (ibot.mask_ratio_min_max[0]).</param>
    /// <param name="maskRatioMax">Upper end of that range (ibot.mask_ratio_min_max[1]).</param>
    /// <exception cref="ArgumentOutOfRangeException">The probability is outside [0, 1] or the ratios do not satisfy 0 ≤ min ≤ max ≤ 1.</exception>
    public MultiCropCollator(MaskingGenerator masking, double maskProbability = 0.5, double maskRatioMin = 0.1, double maskRatioMax = 0.5)
    {
        ArgumentNullException.ThrowIfNull(masking);
        if (!(maskProbability >= 0 && maskProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(maskProbability), $"mask_sample_probability {maskProbability} must be in [0, 1].");
        if (!(maskRatioMin >= 0 && maskRatioMin <= maskRatioMax && maskRatioMax <= 1))
            throw new ArgumentOutOfRangeException(nameof(maskRatioMin), $"mask_ratio_min_max ({maskRatioMin}, {maskRatioMax}) must satisfy 0 ≤ min ≤ max ≤ 1.");
        Masking = masking;
        MaskProbability = maskProbability;
        MaskRatioMin = maskRatioMin;
        MaskRatioMax = maskRatioMax;
    }

    /// <summary>The reference setup: a grid of GlobalCropsSize / patchSize patches per side, rectangles up to 0.5·N.</summary>
    public static MultiCropCollator ForCrops(CropConfig crops, int patchSize, double maskProbability = 0.5,
        double maskRatioMin = 0.1, double maskRatioMax = 0.5)
    {
        ArgumentNullException.ThrowIfNull(crops);
        crops.Validate(patchSize);
        int grid = crops.GlobalCropsSize / patchSize;
        return new MultiCropCollator(new MaskingGenerator(grid, grid), maskProbability, maskRatioMin, maskRatioMax);
    }

    /// <summary>The block-mask generator; its grid is the global crop's patch grid.</summary>
    public MaskingGenerator Masking { get; }
    /// <summary>Fraction of global crops that get a mask, in [0, 1].</summary>
    public double MaskProbability { get; }
    /// <summary>Smallest masked fraction of a masked crop's patches.</summary>
    public double MaskRatioMin { get; }
    /// <summary>Largest masked fraction of a masked crop's patches.</summary>
    public double MaskRatioMax { get; }

    /// <summary>Stacks separately augmented samples (convenience path; the loader writes crops in place instead).</summary>
    public MultiCropBatch Collate(IReadOnlyList<MultiCropSample> samples, Random rng, long iteration = 0)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(rng);
        if (samples.Count == 0) throw new ArgumentException("Cannot collate an empty batch.", nameof(samples));
        int b = samples.Count;
        var first = samples[0];
        int locals = first.LocalCrops.Length;
        int gLen = 3 * first.GlobalSize * first.GlobalSize, lLen = 3 * first.LocalSize * first.LocalSize;
        var global = new float[2 * b * gLen];
        var local = new float[locals * b * lLen];
        for (int i = 0; i < b; i++)
        {
            var s = samples[i];
            if (s.GlobalCrops.Length != 2 || s.LocalCrops.Length != locals || s.GlobalSize != first.GlobalSize || s.LocalSize != first.LocalSize)
                throw new ArgumentException($"Sample {i} has a different crop layout from sample 0.", nameof(samples));
            for (int c = 0; c < 2; c++) s.GlobalCrops[c].CopyTo(global, (c * b + i) * gLen);
            for (int c = 0; c < locals; c++) s.LocalCrops[c].CopyTo(local, (c * b + i) * lLen);
        }
        long[]? labels = samples.All(s => s.Label.HasValue) ? samples.Select(s => (long)s.Label!.Value).ToArray() : null;
        return Collate(global, local, b, first.GlobalSize, first.LocalSize, locals, labels, rng, iteration);
    }

    /// <summary>
    /// Wraps crop-major buffers (as filled by <see cref="MultiCropAugmentation.ApplyInto"/>) and draws masks. With a
    /// shard i/n the buffers hold images [i·batchSize, (i+1)·batchSize) of a global batch of n·batchSize: the masks of
    /// the whole global batch are drawn, exactly as without sharding, and this shard's rows kept, so the n shards
    /// together have the masks one process would have.
    /// </summary>
    public MultiCropBatch Collate(float[] globalCrops, float[] localCrops, int batchSize, int globalSize, int localSize,
        int localCount, long[]? labels, Random rng, long iteration = 0, Shard? shard = null)
    {
        ArgumentNullException.ThrowIfNull(globalCrops);
        ArgumentNullException.ThrowIfNull(localCrops);
        ArgumentNullException.ThrowIfNull(rng);
        int n = Masking.NumPatches;
        var part = shard ?? Shard.Whole;
        bool[] all = SampleMasks(2 * batchSize * part.Count, rng, out int upperbound);
        int total = all.Count(m => m);
        bool[] masks = part.Count == 1 ? all : ShardRows(all, n, batchSize * part.Count, part.Index * batchSize, batchSize);
        (long[] indices, float[] weights) = MaskIndicesAndWeights(masks, n);

        Tensor? g = null, l = null, m = null, mi = null, mw = null, lab = null;
        try
        {
            g = torch.tensor(globalCrops, [2L * batchSize, 3, globalSize, globalSize]);
            l = torch.tensor(localCrops, [(long)localCount * batchSize, 3, localSize, localSize]);
            m = torch.tensor(masks, [2L * batchSize, n]);
            mi = torch.tensor(indices, [indices.Length]);
            mw = torch.tensor(weights, [weights.Length]);
            lab = labels is null ? null : torch.tensor(labels, [labels.Length]);
            return new MultiCropBatch(iteration, batchSize, g, l, m, mi, mw, indices.Length, upperbound, lab, total);
        }
        catch
        {
            g?.Dispose(); l?.Dispose(); m?.Dispose(); mi?.Dispose(); mw?.Dispose(); lab?.Dispose();
            throw;
        }
    }

    /// <summary>The [numCrops · N] row-major masks of one batch, in dinov2's order of random draws.</summary>
    public bool[] SampleMasks(int numCrops, Random rng, out int upperbound)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int n = Masking.NumPatches;
        int numMasked = (int)(numCrops * MaskProbability);
        // torch.linspace in float32, and float32 arithmetic for the ratio, as the reference (tensor bounds) does.
        float[] probs = LinspaceFloat32((float)MaskRatioMin, (float)MaskRatioMax, numMasked + 1);
        var rows = new bool[numCrops][];
        upperbound = 0;
        for (int i = 0; i < numMasked; i++)
        {
            float lo = probs[i], hi = probs[i + 1];
            float ratio = lo + (hi - lo) * (float)rng.NextDouble();
            rows[i] = Masking.Generate((int)(n * ratio), rng);
            upperbound += (int)(n * hi);
        }
        for (int i = numMasked; i < numCrops; i++)
            rows[i] = new bool[n];
        // random.shuffle: Fisher–Yates from the end.
        for (int i = numCrops - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (rows[i], rows[j]) = (rows[j], rows[i]);
        }
        var flat = new bool[numCrops * n];
        for (int i = 0; i < numCrops; i++) rows[i].CopyTo(flat, i * n);
        return flat;
    }

    /// <summary>Rows [first, first + count) of each of the two crop-major halves of [2 · globalBatch, n] masks.</summary>
    static bool[] ShardRows(bool[] masks, int n, int globalBatch, int first, int count)
    {
        var rows = new bool[2 * count * n];
        for (int crop = 0; crop < 2; crop++)
            Array.Copy(masks, (crop * globalBatch + first) * n, rows, crop * count * n, count * n);
        return rows;
    }

    /// <summary>Flat indices of masked patches and their weights 1 / max(count of that row, 1).</summary>
    public static (long[] Indices, float[] Weights) MaskIndicesAndWeights(bool[] masks, int patchesPerRow)
    {
        ArgumentNullException.ThrowIfNull(masks);
        ArgumentOutOfRangeException.ThrowIfLessThan(patchesPerRow, 1);
        int total = masks.Count(v => v);
        var indices = new long[total];
        var weights = new float[total];
        int k = 0;
        for (int row = 0; row * patchesPerRow < masks.Length; row++)
        {
            int count = 0;
            for (int j = 0; j < patchesPerRow; j++) if (masks[row * patchesPerRow + j]) count++;
            float w = 1f / Math.Max(count, 1);
            for (int j = 0; j < patchesPerRow; j++)
            {
                if (!masks[row * patchesPerRow + j]) continue;
                indices[k] = row * patchesPerRow + j;
                weights[k++] = w;
            }
        }
        return (indices, weights);
    }

    static float[] LinspaceFloat32(float start, float end, int steps)
    {
        var r = new float[steps];
        if (steps == 1) { r[0] = start; return r; }
        float step = (end - start) / (steps - 1);
        int half = steps / 2;
        // PyTorch fills the first half from the start and the second half from the end.
        for (int i = 0; i < steps; i++)
            r[i] = i < half ? start + step * i : end - step * (steps - i - 1);
        return r;
    }
}
