namespace DinoSharp.Data;

/// <summary>
/// Multi-crop augmentation settings (the <c>crops</c> section of dinov2's ssl_default_config.yaml plus the constants
/// of its DataAugmentationDINO). Defaults are the reference values.
/// </summary>
public sealed record CropConfig
{
    /// <summary>Side of each global crop in pixels (global_crops_size).</summary>
    public int GlobalCropsSize { get; init; } = 224;

    /// <summary>Area fraction range of global crops (global_crops_scale).</summary>
    public ScaleRange GlobalCropsScale { get; init; } = new(0.32, 1.0);

    /// <summary>Number of local crops per image (local_crops_number); 0 disables them.</summary>
    public int LocalCropsNumber { get; init; } = 8;

    /// <summary>Side of each local crop in pixels (local_crops_size). 96 suits the default patch 16; the reference
    /// patch-14 configs (vitl14, vitg14) use 98 so that it is a multiple of the patch.</summary>
    public int LocalCropsSize { get; init; } = 96;

    /// <summary>Area fraction range of local crops (local_crops_scale).</summary>
    public ScaleRange LocalCropsScale { get; init; } = new(0.05, 0.32);

    /// <summary>Aspect-ratio (w/h) range of RandomResizedCrop, sampled log-uniformly (torchvision default).</summary>
    public ScaleRange CropAspectRatio { get; init; } = new(3.0 / 4.0, 4.0 / 3.0);

    /// <summary>Probability of a horizontal flip of each crop (RandomHorizontalFlip p=0.5).</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Probability that ColorJitter is applied at all (RandomApply p=0.8).</summary>
    public double ColorJitterProbability { get; init; } = 0.8;

    /// <summary>ColorJitter brightness strength: factor ~ U(max(0, 1 − b), 1 + b).</summary>
    public double Brightness { get; init; } = 0.4;
    /// <summary>ColorJitter contrast strength, as <see cref="Brightness"/>.</summary>
    public double Contrast { get; init; } = 0.4;
    /// <summary>ColorJitter saturation strength, as <see cref="Brightness"/>.</summary>
    public double Saturation { get; init; } = 0.2;
    /// <summary>ColorJitter hue strength: shift ~ U(−h, h) of a full turn, h in [0, 0.5].</summary>
    public double Hue { get; init; } = 0.1;

    /// <summary>Probability of converting a crop to grey (RandomGrayscale p=0.2), after colour jitter.</summary>
    public double GrayscaleProbability { get; init; } = 0.2;

    /// <summary>
    /// Blur probability of global crop 1. The intended value (DINO v1, the paper) is 1.0. dinov2's
    /// <c>GaussianBlur(p)</c> passes <c>1 - p</c> to RandomApply (a leftover from PIL's ImageFilter semantics, an open
    /// upstream report), so the reference code actually never blurs global crop 1, blurs global crop 2 with 0.9 and
    /// local crops with 0.5. We apply the intended probabilities; set 0.0 / 0.9 / 0.5 to reproduce the reference code.
    /// </summary>
    public double BlurProbabilityGlobal1 { get; init; } = 1.0;

    /// <summary>Blur probability of global crop 2 (intended 0.1; see <see cref="BlurProbabilityGlobal1"/>).</summary>
    public double BlurProbabilityGlobal2 { get; init; } = 0.1;

    /// <summary>Blur probability of each local crop (0.5, the same either way).</summary>
    public double BlurProbabilityLocal { get; init; } = 0.5;

    /// <summary>Gaussian blur sigma is drawn uniformly from [BlurSigmaMin, BlurSigmaMax].</summary>
    public double BlurSigmaMin { get; init; } = 0.1;

    /// <summary>Upper end of the Gaussian blur sigma range, in pixels of the output crop (see <see cref="BlurSigmaMin"/>).</summary>
    public double BlurSigmaMax { get; init; } = 2.0;

    /// <summary>Blur kernel side: dinov2 uses torchvision's GaussianBlur(kernel_size=9). 0 means 2·ceil(3σ)+1.</summary>
    public int BlurKernelSize { get; init; } = 9;

    /// <summary>Solarize probability of global crop 2 (only that crop is solarized).</summary>
    public double SolarizeProbabilityGlobal2 { get; init; } = 0.2;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the offending key if the settings cannot work together.</summary>
    public void Validate(int patchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patchSize, 1);
        if (GlobalCropsSize <= 0 || GlobalCropsSize % patchSize != 0)
            Fail(nameof(GlobalCropsSize), $"{GlobalCropsSize} must be a positive multiple of the patch size {patchSize}");
        if (LocalCropsSize <= 0 || LocalCropsSize % patchSize != 0)
            Fail(nameof(LocalCropsSize), $"{LocalCropsSize} must be a positive multiple of the patch size {patchSize}");
        if (LocalCropsSize > GlobalCropsSize)
            Fail(nameof(LocalCropsSize), $"{LocalCropsSize} must not exceed GlobalCropsSize {GlobalCropsSize}");
        if (LocalCropsNumber < 0)
            Fail(nameof(LocalCropsNumber), $"{LocalCropsNumber} must be ≥ 0");
        CheckScale(nameof(GlobalCropsScale), GlobalCropsScale, upperBound: 1.0);
        CheckScale(nameof(LocalCropsScale), LocalCropsScale, upperBound: 1.0);
        CheckScale(nameof(CropAspectRatio), CropAspectRatio, upperBound: double.PositiveInfinity);
        CheckProbability(nameof(FlipProbability), FlipProbability);
        CheckProbability(nameof(ColorJitterProbability), ColorJitterProbability);
        CheckProbability(nameof(GrayscaleProbability), GrayscaleProbability);
        CheckProbability(nameof(BlurProbabilityGlobal1), BlurProbabilityGlobal1);
        CheckProbability(nameof(BlurProbabilityGlobal2), BlurProbabilityGlobal2);
        CheckProbability(nameof(BlurProbabilityLocal), BlurProbabilityLocal);
        CheckProbability(nameof(SolarizeProbabilityGlobal2), SolarizeProbabilityGlobal2);
        if (!(Brightness >= 0)) Fail(nameof(Brightness), $"{Brightness} must be ≥ 0");
        if (!(Contrast >= 0)) Fail(nameof(Contrast), $"{Contrast} must be ≥ 0");
        if (!(Saturation >= 0)) Fail(nameof(Saturation), $"{Saturation} must be ≥ 0");
        if (!(Hue >= 0 && Hue <= 0.5)) Fail(nameof(Hue), $"{Hue} must be in [0, 0.5]");
        if (!(BlurSigmaMin > 0 && BlurSigmaMin <= BlurSigmaMax))
            Fail(nameof(BlurSigmaMin), $"sigma range [{BlurSigmaMin}, {BlurSigmaMax}] must satisfy 0 < min ≤ max");
        if (BlurKernelSize < 0 || (BlurKernelSize > 0 && BlurKernelSize % 2 == 0))
            Fail(nameof(BlurKernelSize), $"{BlurKernelSize} must be odd (or 0 for a size derived from sigma)");
    }

    static void CheckProbability(string key, double p)
    {
        if (!(p >= 0 && p <= 1)) Fail(key, $"probability {p} must be in [0, 1]");
    }

    static void CheckScale(string key, ScaleRange? r, double upperBound)
    {
        if (r is null) Fail(key, "must be set");
        else if (!(r.Min > 0 && r.Min <= r.Max && r.Max <= upperBound))
            Fail(key, $"range ({r.Min}, {r.Max}) must satisfy 0 < min ≤ max" + (upperBound == 1.0 ? " ≤ 1" : ""));
    }

    static void Fail(string key, string message) =>
        throw new ArgumentException($"crops.{key}: {message}.", key);
}
