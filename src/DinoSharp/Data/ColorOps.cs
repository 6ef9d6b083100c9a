namespace DinoSharp.Data;

/// <summary>
/// Photometric operations on a 3-channel float CHW image in [0, 1], following torchvision's tensor definitions
/// (functional_tensor): every blend is ratio·img + (1 − ratio)·other, clamped to [0, 1]. <c>plane</c> = H·W.
/// </summary>
public static class ColorOps
{
    /// <summary>ITU-R 601 luma weights, as PIL's convert("L").</summary>
    public const float LumaR = 0.299f, LumaG = 0.587f, LumaB = 0.114f;

    /// <summary>ImageNet channel statistics used by every DINOv2 model.</summary>
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet per-channel standard deviations (R, G, B) used with <see cref="ImageNetMean"/> for normalisation.</summary>
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <summary>Blend with black: x·f.</summary>
    public static void Brightness(Span<float> chw, float factor)
    {
        for (int i = 0; i < chw.Length; i++)
            chw[i] = Math.Clamp(chw[i] * factor, 0f, 1f);
    }

    /// <summary>Blend with the mean of the grayscale image (one scalar for the whole image).</summary>
    public static void Contrast(Span<float> chw, int plane, float factor)
    {
        double sum = 0;
        for (int i = 0; i < plane; i++)
            sum += LumaR * chw[i] + LumaG * chw[plane + i] + LumaB * chw[2 * plane + i];
        float mean = (float)(sum / plane);
        float offset = (1f - factor) * mean;
        for (int i = 0; i < 3 * plane; i++)
            chw[i] = Math.Clamp(factor * chw[i] + offset, 0f, 1f);
    }

    /// <summary>Blend each pixel with its own grey value.</summary>
    public static void Saturation(Span<float> chw, int plane, float factor)
    {
        float keep = 1f - factor;
        for (int i = 0; i < plane; i++)
        {
            float r = chw[i], g = chw[plane + i], b = chw[2 * plane + i];
            float grey = keep * (LumaR * r + LumaG * g + LumaB * b);
            chw[i] = Math.Clamp(factor * r + grey, 0f, 1f);
            chw[plane + i] = Math.Clamp(factor * g + grey, 0f, 1f);
            chw[2 * plane + i] = Math.Clamp(factor * b + grey, 0f, 1f);
        }
    }

    /// <summary>Shift the hue by <paramref name="shift"/> (fraction of a turn, in [−0.5, 0.5]) in HSV space.</summary>
    public static void Hue(Span<float> chw, int plane, float shift)
    {
        for (int i = 0; i < plane; i++)
        {
            float r = chw[i], g = chw[plane + i], b = chw[2 * plane + i];
            // RGB → HSV as torchvision's _rgb2hsv.
            float maxc = MathF.Max(r, MathF.Max(g, b));
            float minc = MathF.Min(r, MathF.Min(g, b));
            float cr = maxc - minc;
            if (cr == 0f) continue; // grey pixel: hue is undefined and the shift leaves it unchanged
            float s = cr / maxc;
            float rc = (maxc - r) / cr, gc = (maxc - g) / cr, bc = (maxc - b) / cr;
            float h = maxc == r ? bc - gc : maxc == g ? 2f + rc - bc : 4f + gc - rc;
            h = h / 6f + 1f;
            h -= MathF.Floor(h);
            h += shift;
            h -= MathF.Floor(h);
            // HSV → RGB as torchvision's _hsv2rgb.
            float v = maxc;
            float h6 = h * 6f;
            float fi = MathF.Floor(h6);
            float f = h6 - fi;
            int sector = ((int)fi % 6 + 6) % 6;
            float p = Math.Clamp(v * (1f - s), 0f, 1f);
            float q = Math.Clamp(v * (1f - s * f), 0f, 1f);
            float t = Math.Clamp(v * (1f - s * (1f - f)), 0f, 1f);
            (r, g, b) = sector switch
            {
                0 => (v, t, p),
                1 => (q, v, p),
                2 => (p, v, t),
                3 => (p, q, v),
                4 => (t, p, v),
                _ => (v, p, q),
            };
            chw[i] = r;
            chw[plane + i] = g;
            chw[2 * plane + i] = b;
        }
    }

    /// <summary>Replace every channel by the luma, keeping 3 channels.</summary>
    public static void Grayscale(Span<float> chw, int plane)
    {
        for (int i = 0; i < plane; i++)
        {
            float grey = LumaR * chw[i] + LumaG * chw[plane + i] + LumaB * chw[2 * plane + i];
            chw[i] = grey;
            chw[plane + i] = grey;
            chw[2 * plane + i] = grey;
        }
    }

    /// <summary>Invert pixels at or above the threshold (torchvision RandomSolarize(threshold=128) on 8-bit images).</summary>
    public static void Solarize(Span<float> chw, float threshold = 128f / 255f)
    {
        for (int i = 0; i < chw.Length; i++)
            if (chw[i] >= threshold)
                chw[i] = 1f - chw[i];
    }

    /// <summary>(x − mean[c]) / std[c] per channel.</summary>
    public static void Normalize(Span<float> chw, int plane, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        for (int c = 0; c < 3; c++)
        {
            float m = mean[c], inv = 1f / std[c];
            var ch = chw.Slice(c * plane, plane);
            for (int i = 0; i < ch.Length; i++)
                ch[i] = (ch[i] - m) * inv;
        }
    }
}
