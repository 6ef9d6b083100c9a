namespace DinoSharp.Data;

/// <summary>
/// torchvision's ColorJitter: factors brightness, contrast, saturation ~ U(max(0, 1−s), 1+s), hue ~ U(−h, h), all four
/// drawn every time, then applied in a random order (a random permutation of the four operations).
/// </summary>
public sealed class ColorJitter
{
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

    public double Brightness { get; }
    public double Contrast { get; }
    public double Saturation { get; }
    public double Hue { get; }

    public void Apply(Span<float> chw, int plane, Random rng)
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
                case 0: ColorOps.Brightness(chw[..(3 * plane)], b); break;
                case 1: ColorOps.Contrast(chw, plane, c); break;
                case 2: ColorOps.Saturation(chw, plane, s); break;
                default: ColorOps.Hue(chw, plane, h); break;
            }
        }
    }

    static float Factor(double strength, Random rng)
    {
        double lo = Math.Max(0, 1 - strength), hi = 1 + strength;
        return (float)(lo + (hi - lo) * rng.NextDouble());
    }
}
