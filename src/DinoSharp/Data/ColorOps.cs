namespace DinoSharp.Data;

/// <summary>
/// Photometric operations on a 3-channel float CHW image in [0, 1], following torchvision's tensor definitions
/// (functional_tensor): every blend is ratio·img + (1 − ratio)·other, clamped to [0, 1]. <c>plane</c> = H·W.
/// With <c>channels</c> = 1 the image is a grey one held as a single plane, read as three equal channels: every operation
/// keeps R = G = B, so it computes on that plane exactly the values it would on each plane of the three-channel copy.
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
    public static void Contrast(Span<float> chw, int plane, float factor, int channels = 3)
    {
        var (g, b) = GreenBlue(plane, channels);
        double sum = 0;
        for (int i = 0; i < plane; i++)
            sum += LumaR * chw[i] + LumaG * chw[g + i] + LumaB * chw[b + i];
        float mean = (float)(sum / plane);
        float offset = (1f - factor) * mean;
        for (int i = 0; i < channels * plane; i++)
            chw[i] = Math.Clamp(factor * chw[i] + offset, 0f, 1f);
    }

    /// <summary>Blend each pixel with its own grey value.</summary>
    public static void Saturation(Span<float> chw, int plane, float factor, int channels = 3)
    {
        var (go, bo) = GreenBlue(plane, channels);
        float keep = 1f - factor;
        for (int i = 0; i < plane; i++)
        {
            float r = chw[i], g = chw[go + i], b = chw[bo + i];
            float grey = keep * (LumaR * r + LumaG * g + LumaB * b);
            chw[i] = Math.Clamp(factor * r + grey, 0f, 1f);
            chw[go + i] = Math.Clamp(factor * g + grey, 0f, 1f);
            chw[bo + i] = Math.Clamp(factor * b + grey, 0f, 1f);
        }
    }

    /// <summary>Shift the hue by <paramref name="shift"/> (fraction of a turn, in [−0.5, 0.5]) in HSV space.</summary>
    public static void Hue(Span<float> chw, int plane, float shift, int channels = 3)
    {
        if (GreenBlue(plane, channels) == (0, 0)) return; // one grey plane: the loop below would leave every pixel unchanged
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
    public static void Grayscale(Span<float> chw, int plane, int channels = 3)
    {
        var (g, b) = GreenBlue(plane, channels);
        for (int i = 0; i < plane; i++)
        {
            float grey = LumaR * chw[i] + LumaG * chw[g + i] + LumaB * chw[b + i];
            chw[i] = grey;
            chw[g + i] = grey;
            chw[b + i] = grey;
        }
    }

    /// <summary>Invert pixels at or above the threshold (torchvision RandomSolarize(threshold=128) on 8-bit images).</summary>
    public static void Solarize(Span<float> chw, float threshold = 128f / 255f)
    {
        for (int i = 0; i < chw.Length; i++)
            if (chw[i] >= threshold)
                chw[i] = 1f - chw[i];
    }

    /// <summary>(x − mean[c]) / std[c] per channel; with <paramref name="channels"/> = 1 the grey plane is first copied to all three.</summary>
    public static void Normalize(Span<float> chw, int plane, ReadOnlySpan<float> mean, ReadOnlySpan<float> std, int channels = 3)
    {
        _ = GreenBlue(plane, channels);   // checks channels
        for (int c = 2; c >= 0; c--)   // channel 0 last: with one plane, it is every channel's source
        {
            float m = mean[c], inv = 1f / std[c];
            var src = chw.Slice(channels == 1 ? 0 : c * plane, plane);
            var ch = chw.Slice(c * plane, plane);
            for (int i = 0; i < ch.Length; i++)
                ch[i] = (src[i] - m) * inv;
        }
    }

    /// <summary>Offsets of the green and blue planes: the red plane's own (0) when the image is one grey plane.</summary>
    static (int Green, int Blue) GreenBlue(int plane, int channels) => channels switch
    {
        3 => (plane, 2 * plane),
        1 => (0, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(channels), $"channels = {channels}: must be 1 (one grey plane) or 3."),
    };
}
