namespace DinoSharp.Data;

/// <summary>
/// dinov2's DataAugmentationDINO, written on float CHW buffers: for each crop, RandomResizedCrop (bicubic) and
/// horizontal flip, then colour jitter (p 0.8), grayscale (p 0.2), Gaussian blur (global 1 / global 2 / local
/// probabilities from <see cref="CropConfig"/>), solarize (global 2 only) and ImageNet normalisation. All randomness
/// of one image comes from one <see cref="DataRandom"/> seeded by the caller, consumed crop by crop in a fixed order,
/// so the views of an image depend only on (image, seed).
/// </summary>
public sealed class MultiCropAugmentation
{
    /// <summary>Global crops per image: always 2, as in DINOv2 (the teacher sees exactly these).</summary>
    public const int GlobalCropsNumber = 2;

    readonly ColorJitter _jitter;

    /// <summary>The augmentation for <paramref name="config"/>.</summary>
    /// <exception cref="ArgumentException">The config fails <see cref="CropConfig.Validate"/> (checked with patch size 1; the patch-size check is the collator's).</exception>
    public MultiCropAugmentation(CropConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(patchSize: 1);
        Config = config;
        _jitter = new ColorJitter(config.Brightness, config.Contrast, config.Saturation, config.Hue);
    }

    /// <summary>The crop sizes, scales and photometric probabilities in use.</summary>
    public CropConfig Config { get; }

    /// <summary>Floats in one global crop (3·G·G).</summary>
    public int GlobalCropLength => 3 * Config.GlobalCropsSize * Config.GlobalCropsSize;

    /// <summary>Floats in one local crop (3·l·l).</summary>
    public int LocalCropLength => 3 * Config.LocalCropsSize * Config.LocalCropsSize;

    /// <summary>Draws the 2 global and <see cref="CropConfig.LocalCropsNumber"/> local views of <paramref name="image"/>.</summary>
    /// <param name="image">The decoded image (any size).</param>
    /// <param name="seed">Seeds the one <see cref="DataRandom"/> all of this image's randomness comes from; the same seed gives the same views.</param>
    /// <param name="label">Carried through to <see cref="MultiCropSample.Label"/>.</param>
    public MultiCropSample Apply(RgbImage image, ulong seed, int? label = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Apply(image, seed, label, grey: image.IsGreyscale());
    }

    /// <summary><see cref="Apply(RgbImage, ulong, int?)"/> with the one-plane path chosen by the caller (tests compare both on grey images).</summary>
    internal MultiCropSample Apply(RgbImage image, ulong seed, int? label, bool grey)
    {
        var global = new float[GlobalCropsNumber][];
        var local = new float[Config.LocalCropsNumber][];
        var rng = new DataRandom(seed);
        for (int c = 0; c < GlobalCropsNumber; c++)
        {
            global[c] = new float[GlobalCropLength];
            GlobalCrop(image, grey, c, rng, global[c]);
        }
        for (int c = 0; c < local.Length; c++)
        {
            local[c] = new float[LocalCropLength];
            LocalCrop(image, grey, rng, local[c]);
        }
        return new MultiCropSample(global, local, Config.GlobalCropsSize, Config.LocalCropsSize, label);
    }

    /// <summary>
    /// Writes the views of one image straight into crop-major batch buffers (the layout of
    /// <see cref="MultiCropBatch"/>): global crop c of batch slot b at offset (c·B + b)·GlobalCropLength, local crop c
    /// at (c·B + b)·LocalCropLength. Produces exactly the values of <see cref="Apply(RgbImage, ulong, int?)"/> for the same seed.
    /// </summary>
    public void ApplyInto(RgbImage image, ulong seed, float[] globalBatch, float[] localBatch, int batchSize, int slot)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(globalBatch);
        ArgumentNullException.ThrowIfNull(localBatch);
        if ((uint)slot >= (uint)batchSize) throw new ArgumentOutOfRangeException(nameof(slot));
        var rng = new DataRandom(seed);
        bool grey = image.IsGreyscale();
        for (int c = 0; c < GlobalCropsNumber; c++)
            GlobalCrop(image, grey, c, rng, globalBatch.AsSpan((c * batchSize + slot) * GlobalCropLength, GlobalCropLength));
        for (int c = 0; c < Config.LocalCropsNumber; c++)
            LocalCrop(image, grey, rng, localBatch.AsSpan((c * batchSize + slot) * LocalCropLength, LocalCropLength));
    }

    void GlobalCrop(RgbImage image, bool grey, int index, DataRandom rng, Span<float> dst) =>
        View(image, grey, rng, Config.GlobalCropsSize, Config.GlobalCropsScale,
            index == 0 ? Config.BlurProbabilityGlobal1 : Config.BlurProbabilityGlobal2,
            index == 0 ? 0.0 : Config.SolarizeProbabilityGlobal2, dst);

    void LocalCrop(RgbImage image, bool grey, DataRandom rng, Span<float> dst) =>
        View(image, grey, rng, Config.LocalCropsSize, Config.LocalCropsScale, Config.BlurProbabilityLocal, 0.0, dst);

    /// <summary>One view. A grey image (<paramref name="grey"/>) goes through the pipeline as one plane, expanded to three channels by the normalisation: the same values at about a third of the work.</summary>
    void View(RgbImage image, bool grey, DataRandom rng, int size, ScaleRange scale, double blurP, double solarizeP, Span<float> dst)
    {
        int plane = size * size, channels = grey ? 1 : 3;
        // Geometric part (geometric_augmentation_global/local): crop box, then flip.
        var box = RandomResizedCrop.Sample(image.Width, image.Height, scale, Config.CropAspectRatio, rng);
        bool flip = rng.Bernoulli(Config.FlipProbability);
        BicubicResize.ResizeToChw(image, box, size, size, flip, dst, greyPlane: grey);

        // Photometric part (color_jittering + the per-crop extras), in the reference order.
        if (rng.Bernoulli(Config.ColorJitterProbability))
            _jitter.Apply(dst, plane, rng, channels);
        if (rng.Bernoulli(Config.GrayscaleProbability))
            ColorOps.Grayscale(dst, plane, channels);
        if (rng.Bernoulli(blurP))
        {
            double sigma = rng.Uniform(Config.BlurSigmaMin, Config.BlurSigmaMax);
            GaussianBlur.Apply(dst, size, size, GaussianBlur.Kernel(sigma, Config.BlurKernelSize), channels);
        }
        if (solarizeP > 0 && rng.Bernoulli(solarizeP))
            ColorOps.Solarize(dst[..(channels * plane)]);
        ColorOps.Normalize(dst, plane, ColorOps.ImageNetMean, ColorOps.ImageNetStd, channels);
    }
}
