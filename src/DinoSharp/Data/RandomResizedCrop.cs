namespace DinoSharp.Data;

/// <summary>
/// torchvision's RandomResizedCrop.get_params, exactly: up to 10 tries of (area fraction ~ U(scale), aspect ~
/// log-uniform(ratio), w = round(√(area·ratio)), h = round(√(area/ratio)), accept if it fits, position uniform), then a
/// centre crop of the whole image clamped to the ratio range. Rounding is banker's rounding like Python's round().
/// </summary>
public static class RandomResizedCrop
{
    /// <summary>Tries before falling back to the centre crop (torchvision's 10).</summary>
    public const int Attempts = 10;

    /// <summary>Draws one crop box of a <paramref name="width"/>×<paramref name="height"/> image.</summary>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="scale">Range of the crop area as a fraction of the image area.</param>
    /// <param name="ratio">Range of the crop aspect ratio w/h, sampled log-uniformly.</param>
    /// <param name="rng">The image's random stream (two draws per attempt, two more on success).</param>
    /// <returns>A box inside the image.</returns>
    public static CropBox Sample(int width, int height, ScaleRange scale, ScaleRange ratio, Random rng)
    {
        ArgumentNullException.ThrowIfNull(scale);
        ArgumentNullException.ThrowIfNull(ratio);
        ArgumentNullException.ThrowIfNull(rng);
        double area = (double)width * height;
        double logMin = Math.Log(ratio.Min), logMax = Math.Log(ratio.Max);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double targetArea = area * (scale.Min + (scale.Max - scale.Min) * rng.NextDouble());
            double aspect = Math.Exp(logMin + (logMax - logMin) * rng.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int top = rng.Next(0, height - h + 1);
                int left = rng.Next(0, width - w + 1);
                return new CropBox(top, left, h, w);
            }
        }

        // Fallback: the largest centred crop whose aspect ratio is inside the range.
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < ratio.Min)
        {
            cw = width;
            ch = (int)Math.Round(cw / ratio.Min, MidpointRounding.ToEven);
        }
        else if (inRatio > ratio.Max)
        {
            ch = height;
            cw = (int)Math.Round(ch * ratio.Max, MidpointRounding.ToEven);
        }
        else
        {
            cw = width;
            ch = height;
        }
        return new CropBox((height - ch) / 2, (width - cw) / 2, ch, cw);
    }
}
