namespace DinoSharp.Data;

/// <summary>
/// torchvision's ColorJitter: factors brightness, contrast, saturation ~ U(max(0, 1−s), 1+s), hue ~ U(−h, h), all four
/// drawn every time, then applied in a random order (a random permutation of the four operations).
/// </summary>
public sealed class ColorJitter
{
    /// <summary>Jitter strengths as torchvision's ColorJitter(brightness, contrast, saturation, hue); 0 turns an operation into the identity.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A strength is negative, or <paramref name="hue"/> is outside [0, 0.5].</exception>
    public ColorJitter(double brightness, double contrast, double saturation, double hue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(brightness);
        ArgumentOutOfRangeException.ThrowIfNegative(contrast);
        ArgumentOutOfRangeException.ThrowIfNegative(saturation);
        if (hue < 0 || hue > 0.5) throw new ArgumentOutOfRangeException(nameof(hue), $"Hue must be in [0, 0.5], got {hue}.");
        Brightness = brightness;
        Contrast = contrast;
        Saturation = saturation;
        Hue = hue;
    }

    /// <summary>Brightness factor drawn from U(max(0, 1 − s), 1 + s) with s this value (≥ 0).</summary>
    public double Brightness { get; }
    /// <summary>Contrast factor range, as <see cref="Brightness"/> (≥ 0).</summary>
    public double Contrast { get; }
    /// <summary>Saturation factor range, as <see cref="Brightness"/> (≥ 0).</summary>
    public double Saturation { get; }
    /// <summary>Hue shift drawn from U(−h, h) in fractions of a full turn, h in [0, 0.5].</summary>
    public double Hue { get; }

    /// <summary>Draws the four factors and an order, then applies them in place. Consumes a fixed number of draws from <paramref name="rng"/>.</summary>
    /// <param name="chw">A 3-channel float CHW image in [0, 1] (the first 3·<paramref name="plane"/> floats are used).</param>
    /// <param name="plane">Pixels per channel, H·W.</param>
    /// <param name="rng">The image's random stream.</param>
    /// <param name="channels">3, or 1 for a grey image held as one plane (<see cref="ColorOps"/>).</param>
    public void Apply(Span<float> chw, int plane, Random rng, int channels = 3)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Span<int> order = [0, 1, 2, 3];
        for (int i = 3; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        float b = Factor(Brightness, rng), c = Factor(Contrast, rng), s = Factor(Saturation, rng);
        float h = (float)(-Hue + 2 * Hue * rng.NextDouble());
        foreach (int op in order)
        {
            switch (op)
            {
                case 0: ColorOps.Brightness(chw[..(channels * plane)], b); break;
                case 1: ColorOps.Contrast(chw, plane, c, channels); break;
                case 2: ColorOps.Saturation(chw, plane, s, channels); break;
                default: ColorOps.Hue(chw, plane, h, channels); break;
            }
        }
    }

    static float Factor(double strength, Random rng)
    {
        double lo = Math.Max(0, 1 - strength), hi = 1 + strength;
        return (float)(lo + (hi - lo) * rng.NextDouble());
    }
}
