using DinoSharp.Data;

namespace DinoSharp.Tests.Data;

public sealed class AugmentationTests
{
    const float Tol = 1e-5f;

    static double KsUniform(IEnumerable<double> samples, double lo, double hi)
    {
        double[] s = samples.Order().ToArray();
        double d = 0;
        for (int i = 0; i < s.Length; i++)
        {
            double cdf = Math.Clamp((s[i] - lo) / (hi - lo), 0, 1);
            d = Math.Max(d, Math.Max(Math.Abs(cdf - (double)i / s.Length), Math.Abs(cdf - (double)(i + 1) / s.Length)));
        }
        return d;
    }

    [Fact]
    public void Random_resized_crop_area_and_log_aspect_follow_the_configured_distributions()
    {
        // A large image so that every first try fits: the accepted crops are then the raw draws, up to rounding.
        const int n = 20_000;
        var rng = new DataRandom(42);
        var scale = new ScaleRange(0.05, 0.32);
        var ratio = new ScaleRange(3.0 / 4.0, 4.0 / 3.0);
        var areas = new double[n];
        var logAspects = new double[n];
        for (int i = 0; i < n; i++)
        {
            var box = RandomResizedCrop.Sample(2000, 1500, scale, ratio, rng);
            Assert.InRange(box.Left, 0, 2000 - box.Width);
            Assert.InRange(box.Top, 0, 1500 - box.Height);
            areas[i] = (double)box.Width * box.Height / (2000.0 * 1500.0);
            logAspects[i] = Math.Log((double)box.Width / box.Height);
        }
        // Kolmogorov–Smirnov distance to the uniform laws (critical value at 1% for n = 20k is 0.0115).
        Assert.True(KsUniform(areas, 0.05, 0.32) < 0.0115, $"area KS {KsUniform(areas, 0.05, 0.32)}");
        Assert.True(KsUniform(logAspects, Math.Log(0.75), Math.Log(4.0 / 3.0)) < 0.0115);
        Assert.InRange(areas.Average(), 0.185 - 0.002, 0.185 + 0.002);
        Assert.InRange(logAspects.Average(), -0.004, 0.004);
        Assert.InRange(areas.Min(), 0.0495, 0.052);
        Assert.InRange(areas.Max(), 0.318, 0.3205);
    }

    [Fact]
    public void Random_resized_crop_global_scale_keeps_crops_inside_and_covers_the_range()
    {
        var rng = new DataRandom(1);
        var scale = new ScaleRange(0.32, 1.0);
        var ratio = new ScaleRange(3.0 / 4.0, 4.0 / 3.0);
        var areas = new List<double>();
        for (int i = 0; i < 5000; i++)
        {
            var box = RandomResizedCrop.Sample(28, 28, scale, ratio, rng);
            Assert.True(box.Left >= 0 && box.Top >= 0 && box.Left + box.Width <= 28 && box.Top + box.Height <= 28);
            areas.Add(box.Width * box.Height / 784.0);
        }
        Assert.InRange(areas.Min(), 0.28, 0.36);
        Assert.Equal(1.0, areas.Max(), 3);
    }

    [Fact]
    public void Random_resized_crop_falls_back_to_a_ratio_clamped_centre_crop()
    {
        var rng = new DataRandom(3);
        // Nothing with area ≥ 90% of a 1000×10 strip has aspect ≤ 4/3 and fits: every try fails.
        var box = RandomResizedCrop.Sample(1000, 10, new ScaleRange(0.9, 1.0), new ScaleRange(0.75, 4.0 / 3.0), rng);
        Assert.Equal(new CropBox(0, 493, 10, 13), box);
        var tall = RandomResizedCrop.Sample(10, 1000, new ScaleRange(0.9, 1.0), new ScaleRange(0.75, 4.0 / 3.0), rng);
        Assert.Equal(new CropBox(493, 0, 13, 10), tall);
    }

    [Fact]
    public void Bicubic_kernel_and_weights_match_pillow()
    {
        Assert.Equal(1.0, ResampleWeights.Bicubic(0.0));
        Assert.Equal(0.0, ResampleWeights.Bicubic(1.0));
        Assert.Equal(0.5625, ResampleWeights.Bicubic(0.5), 12);
        Assert.Equal(-0.0625, ResampleWeights.Bicubic(1.5), 12);
        Assert.Equal(0.0, ResampleWeights.Bicubic(2.0));

        foreach ((int input, int output) in new[] { (28, 32), (20, 16), (500, 96), (7, 7) })
        {
            var w = ResampleWeights.Bicubic(input, output);
            for (int i = 0; i < output; i++)
            {
                float sum = 0;
                for (int k = 0; k < w.Length[i]; k++) sum += w.Weights[i * w.KernelSize + k];
                Assert.Equal(1f, sum, 5);
                Assert.InRange(w.Start[i], 0, input - 1);
                Assert.InRange(w.Start[i] + w.Length[i], 1, input);
            }
        }
        // Downscaling 500 → 96 stretches the support by 500/96 (antialiasing): 2·ceil(2·5.21)+1 taps.
        Assert.Equal(23, ResampleWeights.Bicubic(500, 96).KernelSize);
        // 28 → 32, output 0: centre 0.4375, taps at source 0 and 1 with B(0.0625) and B(1.0625) renormalised.
        var up = ResampleWeights.Bicubic(28, 32);
        double b0 = ResampleWeights.Bicubic(0.0625), b1 = ResampleWeights.Bicubic(1.0625);
        Assert.Equal(0, up.Start[0]);
        Assert.Equal(2, up.Length[0]);
        Assert.Equal(b0 / (b0 + b1), up.Weights[0], 6);
    }

    [Fact]
    public void Same_size_resize_is_the_identity_and_flip_mirrors()
    {
        var img = TestImages.Pattern(9, 5);
        var chw = new float[3 * 45];
        BicubicResize.ResizeToChw(img, new CropBox(0, 0, 5, 9), 9, 5, false, chw);
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 9; x++)
                for (int c = 0; c < 3; c++)
                    Assert.Equal(img.Pixels[(y * 9 + x) * 3 + c] / 255f, chw[c * 45 + y * 9 + x], 5);

        var flipped = new float[3 * 45];
        BicubicResize.ResizeToChw(img, new CropBox(0, 0, 5, 9), 9, 5, true, flipped);
        Assert.Equal(chw[45 + 2 * 9 + 1], flipped[45 + 2 * 9 + 7]);

        // A crop with an offset reads the right pixels.
        var crop = new float[3 * 4];
        BicubicResize.ResizeToChw(img, new CropBox(3, 5, 2, 2), 2, 2, false, crop);
        Assert.Equal(img.Pixels[(4 * 9 + 6) * 3 + 2] / 255f, crop[2 * 4 + 3], 5);
    }

    [Fact]
    public void Upscaled_constant_image_stays_constant()
    {
        var px = Enumerable.Repeat((byte)77, 28 * 28 * 3).ToArray();
        var chw = new float[3 * 32 * 32];
        BicubicResize.ResizeToChw(new RgbImage(28, 28, px), new CropBox(2, 3, 17, 20), 32, 32, false, chw);
        Assert.All(chw, v => Assert.Equal(77f / 255f, v, 5));
    }

    // One-pixel (plane = 1) or two-pixel CHW images make the hand computations readable.
    [Fact]
    public void Brightness_scales_and_clamps()
    {
        float[] p = [0.5f, 0.2f, 0.9f];
        ColorOps.Brightness(p, 1.5f);
        Assert.Equal([0.75f, 0.3f, 1f], p, new FloatTol());
    }

    [Fact]
    public void Contrast_blends_with_the_mean_grey_of_the_whole_image()
    {
        // Pixels (1,0,0) and (0,0,1): greys 0.299 and 0.114, mean 0.2065.
        float[] p = [1f, 0f, 0f, 0f, 0f, 1f];
        ColorOps.Contrast(p, 2, 0.5f);
        const float m = 0.5f * 0.2065f;
        Assert.Equal([0.5f + m, m, m, m, m, 0.5f + m], p, new FloatTol());
    }

    [Fact]
    public void Saturation_blends_with_the_pixel_grey()
    {
        float[] p = [0.6f, 0.4f, 0.2f];
        const float grey = 0.299f * 0.6f + 0.587f * 0.4f + 0.114f * 0.2f; // 0.437
        float[] zero = (float[])p.Clone();
        ColorOps.Saturation(zero, 1, 0f);
        Assert.Equal([grey, grey, grey], zero, new FloatTol());
        ColorOps.Saturation(p, 1, 2f);
        Assert.Equal([1.2f - grey, 0.8f - grey, 0f], p, new FloatTol()); // blue clamps at 0
    }

    [Fact]
    public void Hue_rotates_in_hsv()
    {
        float[] red = [1f, 0f, 0f];
        ColorOps.Hue(red, 1, 1f / 3f);
        Assert.Equal([0f, 1f, 0f], red, new FloatTol());

        float[] orange = [1f, 0.5f, 0f]; // hue 30° → 210°
        ColorOps.Hue(orange, 1, 0.5f);
        Assert.Equal([0f, 0.5f, 1f], orange, new FloatTol());

        float[] back = [0.2f, 0.7f, 0.4f];
        ColorOps.Hue(back, 1, -0.1f);
        ColorOps.Hue(back, 1, 0.1f);
        Assert.Equal([0.2f, 0.7f, 0.4f], back, new FloatTol());

        float[] grey = [0.3f, 0.3f, 0.3f];
        ColorOps.Hue(grey, 1, 0.25f);
        Assert.Equal([0.3f, 0.3f, 0.3f], grey);
    }

    [Fact]
    public void Grayscale_keeps_three_equal_channels()
    {
        float[] p = [0.6f, 0.1f, 0.4f, 0.4f, 0.2f, 0.8f];
        ColorOps.Grayscale(p, 2);
        Assert.Equal(0.299f * 0.6f + 0.587f * 0.4f + 0.114f * 0.2f, p[0], 6);
        Assert.Equal(0.299f * 0.1f + 0.587f * 0.4f + 0.114f * 0.8f, p[1], 6);
        Assert.Equal(p[0], p[2]);
        Assert.Equal(p[0], p[4]);
        Assert.Equal(p[1], p[3]);
        Assert.Equal(p[1], p[5]);
    }

    [Fact]
    public void Solarize_inverts_from_128_over_255()
    {
        float[] p = [0.2f, 127f / 255f, 128f / 255f, 1f];
        ColorOps.Solarize(p);
        Assert.Equal([0.2f, 127f / 255f, 127f / 255f, 0f], p, new FloatTol());
    }

    [Fact]
    public void Normalize_uses_imagenet_statistics()
    {
        float[] p = [0.485f, 0.456f + 0.224f, 0.406f - 2 * 0.225f];
        ColorOps.Normalize(p, 1, ColorOps.ImageNetMean, ColorOps.ImageNetStd);
        Assert.Equal([0f, 1f, -2f], p, new FloatTol());
    }

    [Fact]
    public void Blur_kernel_sums_to_one_and_blur_preserves_constants_and_mass()
    {
        foreach (double sigma in new[] { 0.1, 0.5, 1.0, 2.0 })
            foreach (int size in new[] { 9, 0 })
            {
                float[] k = GaussianBlur.Kernel(sigma, size);
                Assert.Equal(1f, k.Sum(), 5);
                Assert.Equal(k[0], k[^1]);
                if (size == 0) Assert.Equal(2 * (int)Math.Ceiling(3 * sigma) + 1, k.Length);
            }
        float[] k9 = GaussianBlur.Kernel(1.0, 9);
        Assert.Equal(Math.Exp(-0.5) / Enumerable.Range(-4, 9).Sum(x => Math.Exp(-0.5 * x * x)), k9[5], 6);

        var constant = Enumerable.Repeat(0.3f, 3 * 6 * 6).ToArray();
        GaussianBlur.Apply(constant, 6, 6, GaussianBlur.Kernel(2.0, 9)); // radius 4 on a 6-px image: repeated reflection
        Assert.All(constant, v => Assert.Equal(0.3f, v, 5));

        // An impulse far from the borders spreads into the outer product of the kernel.
        var impulse = new float[3 * 15 * 15];
        impulse[7 * 15 + 7] = 1f;
        GaussianBlur.Apply(impulse, 15, 15, k9);
        Assert.Equal(k9[5] * k9[2], impulse[6 * 15 + 9], 6); // offsets (dy, dx) = (−1, +2)
        Assert.Equal(1f, impulse.Take(225).Sum(), 5);

        Assert.Equal([2, 1, 0, 1, 2, 3, 2, 1], new[] { -2, -1, 0, 1, 2, 3, 4, 5 }.Select(i => GaussianBlur.Reflect(i, 4)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_grey_image_held_as_one_plane_gets_the_values_of_the_three_channel_path(int seed)
    {
        // Fashion-MNIST-like: grey bytes, 28 px, cropped and resized to 28 (up) and 14 (down), every photometric operation
        // with strong factors. The one-plane path must give every plane the three-channel path's values, bit for bit.
        var rng = new Random(seed);
        var px = new byte[28 * 28 * 3];
        for (int i = 0; i < px.Length; i += 3) px[i] = px[i + 1] = px[i + 2] = (byte)rng.Next(256);
        var image = new RgbImage(28, 28, px);
        Assert.True(image.IsGreyscale());
        px[5] ^= 1;
        Assert.False(image.IsGreyscale());
        px[5] ^= 1;
        var jitter = new ColorJitter(0.8, 0.8, 0.5, 0.2);
        foreach (var (box, size) in new[] { (new CropBox(3, 2, 20, 17), 28), (new CropBox(0, 5, 12, 14), 14) })
        {
            int plane = size * size;
            float[] Run(int channels)
            {
                var dst = new float[3 * plane];
                BicubicResize.ResizeToChw(image, box, size, size, flipHorizontal: true, dst, greyPlane: channels == 1);
                jitter.Apply(dst, plane, new DataRandom((ulong)seed), channels);
                ColorOps.Grayscale(dst, plane, channels);
                GaussianBlur.Apply(dst, size, size, GaussianBlur.Kernel(0.4, 0), channels);
                ColorOps.Solarize(dst.AsSpan(0, channels * plane));
                ColorOps.Normalize(dst, plane, ColorOps.ImageNetMean, ColorOps.ImageNetStd, channels);
                return dst;
            }
            float[] three = Run(3), one = Run(1);
            for (int i = 0; i < three.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(three[i]) == BitConverter.SingleToInt32Bits(one[i]), $"float {i}: {three[i]:R} against {one[i]:R}");
            Assert.NotEqual(three[0], three[plane]);   // the planes differ only by the per-channel normalisation
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ColorOps.Contrast(new float[12], 4, 0.5f, channels: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => GaussianBlur.Apply(new float[12], 2, 2, [1f], channels: 2));

        // The whole multi-crop augmentation (every crop, flip, jitter, blur, solarisation the config draws): the path a
        // grey image takes by default against the three-channel path, on many seeds.
        var augmentation = new MultiCropAugmentation(new CropConfig
        {
            GlobalCropsSize = 28, LocalCropsSize = 14, LocalCropsNumber = 2, GlobalCropsScale = new(0.35, 1), LocalCropsScale = new(0.15, 0.45),
        });
        for (ulong s = 0; s < 40; s++)
        {
            var fast = augmentation.Apply(image, s, label: 3);
            var slow = augmentation.Apply(image, s, 3, grey: false);
            foreach (var (f, w) in fast.GlobalCrops.Concat(fast.LocalCrops).Zip(slow.GlobalCrops.Concat(slow.LocalCrops)))
                Assert.Equal(w.Select(BitConverter.SingleToInt32Bits), f.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Color_jitter_with_zero_strength_is_the_identity()
    {
        var jitter = new ColorJitter(0, 0, 0, 0);
        float[] p = [0.1f, 0.5f, 0.9f, 0.3f, 0.3f, 0.3f];
        jitter.Apply(p, 2, new DataRandom(5));
        Assert.Equal([0.1f, 0.5f, 0.9f, 0.3f, 0.3f, 0.3f], p, new FloatTol());
    }

    [Fact]
    public void Crop_config_validation_names_the_key()
    {
        var ok = new CropConfig();
        ok.Validate(16); // the reference defaults are for patch 16; patch 14 configs use 98 px local crops
        (ok with { LocalCropsSize = 98 }).Validate(14);
        (new CropConfig { GlobalCropsSize = 32, LocalCropsSize = 16, LocalCropsNumber = 0 }).Validate(4);

        void Bad(CropConfig c, string key, int patch = 14) =>
            Assert.Equal(key, Assert.Throws<ArgumentException>(() => c.Validate(patch)).ParamName);
        Bad(ok with { GlobalCropsSize = 225 }, nameof(CropConfig.GlobalCropsSize));
        Bad(ok, nameof(CropConfig.GlobalCropsSize), patch: 10);
        Bad(ok, nameof(CropConfig.LocalCropsSize), patch: 14);
        Bad(ok with { LocalCropsSize = 256 }, nameof(CropConfig.LocalCropsSize), patch: 16);
        ok = ok with { LocalCropsSize = 98 }; // valid for patch 14 from here on
        Bad(ok with { LocalCropsNumber = -1 }, nameof(CropConfig.LocalCropsNumber));
        Bad(ok with { FlipProbability = 1.5 }, nameof(CropConfig.FlipProbability));
        Bad(ok with { BlurProbabilityGlobal2 = -0.1 }, nameof(CropConfig.BlurProbabilityGlobal2));
        Bad(ok with { SolarizeProbabilityGlobal2 = double.NaN }, nameof(CropConfig.SolarizeProbabilityGlobal2));
        Bad(ok with { GlobalCropsScale = new(0.5, 0.4) }, nameof(CropConfig.GlobalCropsScale));
        Bad(ok with { LocalCropsScale = new(0, 0.3) }, nameof(CropConfig.LocalCropsScale));
        Bad(ok with { LocalCropsScale = new(0.1, 1.2) }, nameof(CropConfig.LocalCropsScale));
        Bad(ok with { Hue = 0.7 }, nameof(CropConfig.Hue));
    }

    [Fact]
    public void Crop_config_defaults_are_the_reference_values()
    {
        var c = new CropConfig();
        Assert.Equal((224, 96, 8), (c.GlobalCropsSize, c.LocalCropsSize, c.LocalCropsNumber));
        Assert.Equal(new ScaleRange(0.32, 1.0), c.GlobalCropsScale);
        Assert.Equal(new ScaleRange(0.05, 0.32), c.LocalCropsScale);
        Assert.Equal((1.0, 0.1, 0.5, 0.2), (c.BlurProbabilityGlobal1, c.BlurProbabilityGlobal2, c.BlurProbabilityLocal, c.SolarizeProbabilityGlobal2));
        Assert.Equal((0.4, 0.4, 0.2, 0.1, 0.8, 0.2, 0.5), (c.Brightness, c.Contrast, c.Saturation, c.Hue, c.ColorJitterProbability, c.GrayscaleProbability, c.FlipProbability));
    }

    [Fact]
    public void Multi_crop_is_deterministic_per_seed_normalised_and_shaped()
    {
        var aug = new MultiCropAugmentation(new CropConfig { GlobalCropsSize = 32, LocalCropsSize = 16, LocalCropsNumber = 3 });
        var img = TestImages.Pattern(28, 28);
        var a = aug.Apply(img, 123);
        var b = aug.Apply(img, 123);
        var c = aug.Apply(img, 124);
        Assert.Equal(2, a.GlobalCrops.Length);
        Assert.Equal(3, a.LocalCrops.Length);
        Assert.Equal(3 * 32 * 32, a.GlobalCrops[0].Length);
        Assert.Equal(3 * 16 * 16, a.LocalCrops[2].Length);
        Assert.Equal(a.GlobalCrops[1], b.GlobalCrops[1]);
        Assert.Equal(a.LocalCrops[2], b.LocalCrops[2]);
        Assert.NotEqual(a.GlobalCrops[0], c.GlobalCrops[0]);
        // Values lie in the normalised range of [0, 1] inputs.
        float lo = (0 - 0.485f) / 0.229f, hi = (1 - 0.406f) / 0.225f;
        Assert.All(a.GlobalCrops.Concat(a.LocalCrops).SelectMany(x => x), v => Assert.InRange(v, lo - 1e-4f, hi + 1e-4f));

        // ApplyInto writes the same values into crop-major batch buffers.
        var global = new float[2 * 2 * 3 * 32 * 32];
        var local = new float[3 * 2 * 3 * 16 * 16];
        aug.ApplyInto(img, 123, global, local, batchSize: 2, slot: 1);
        Assert.Equal(a.GlobalCrops[1], global.AsSpan((1 * 2 + 1) * 3072, 3072).ToArray());
        Assert.Equal(a.LocalCrops[2], local.AsSpan((2 * 2 + 1) * 768, 768).ToArray());
    }

    [Fact]
    public void Augmentation_probabilities_are_applied_at_their_rates()
    {
        // With jitter/blur/solarize off and grayscale always on, every crop has equal channels.
        var grey = new MultiCropAugmentation(new CropConfig
        {
            GlobalCropsSize = 16, LocalCropsSize = 8, LocalCropsNumber = 2, ColorJitterProbability = 0,
            GrayscaleProbability = 1, BlurProbabilityGlobal1 = 0, BlurProbabilityGlobal2 = 0, BlurProbabilityLocal = 0,
            SolarizeProbabilityGlobal2 = 0,
        });
        var s = grey.Apply(TestImages.Pattern(40, 30), 9);
        foreach (var crop in s.GlobalCrops.Concat(s.LocalCrops))
        {
            int plane = crop.Length / 3;
            for (int i = 0; i < plane; i++)
            {
                float r = crop[i] * 0.229f + 0.485f, g = crop[plane + i] * 0.224f + 0.456f, b = crop[2 * plane + i] * 0.225f + 0.406f;
                Assert.Equal(r, g, 4);
                Assert.Equal(r, b, 4);
            }
        }

        // Default config: fraction of grey global-2 crops ≈ 0.2 (plus jitter can't create grey), over 400 seeds.
        var aug = new MultiCropAugmentation(new CropConfig { GlobalCropsSize = 16, LocalCropsSize = 8, LocalCropsNumber = 0 });
        var img = TestImages.Pattern(24, 24);
        int greys = 0;
        for (ulong seed = 0; seed < 400; seed++)
        {
            var crop = aug.Apply(img, seed).GlobalCrops[1];
            int plane = crop.Length / 3;
            bool isGrey = true;
            for (int i = 0; i < plane && isGrey; i++)
                isGrey = Math.Abs(crop[i] * 0.229f + 0.485f - (crop[plane + i] * 0.224f + 0.456f)) < 1e-4f;
            if (isGrey) greys++;
        }
        Assert.InRange(greys / 400.0, 0.14, 0.26);
    }

    sealed class FloatTol : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= Tol;
        public int GetHashCode(float obj) => 0;
    }
}
