namespace DinoSharp.Data;

/// <summary>A decoded 8-bit RGB image, row-major, interleaved (H × W × 3). The one image type the library passes around.</summary>
public sealed class RgbImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied).</summary>
    /// <param name="width">Width in pixels, &gt; 0.</param>
    /// <param name="height">Height in pixels, &gt; 0.</param>
    /// <param name="pixels">Exactly width·height·3 interleaved RGB bytes, row-major.</param>
    /// <exception cref="ArgumentOutOfRangeException">A side is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> has the wrong length.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Image size must be positive, got {width}×{height}.");
        if (pixels.Length != checked(width * height * 3))
            throw new ArgumentException($"Expected {width * height * 3} bytes for a {width}×{height} RGB image, got {pixels.Length}.", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }
    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Interleaved RGB bytes, index (y * Width + x) * 3 + channel.</summary>
    public byte[] Pixels { get; }

    /// <summary>
    /// Whether every pixel has R = G = B (checked on each call: <see cref="Pixels"/> can change). The augmentations and
    /// the eval transform then work on one plane and copy it to three channels at the end, with the same values.
    /// </summary>
    public bool IsGreyscale()
    {
        var px = Pixels.AsSpan();
        for (int i = 0; i < px.Length; i += 3)
            if (px[i] != px[i + 1] || px[i] != px[i + 2]) return false;
        return true;
    }
}
