using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Data;

/// <summary>
/// Deterministic preprocessing for feature extraction: either resize the shorter side then centre-crop (the reference
/// evaluation uses 256 → 224), or stretch to a square (for tiny images such as Fashion-MNIST 28 → 32), both with the
/// antialiased bicubic of the training crops, then ImageNet normalisation.
/// </summary>
public sealed class EvalTransform
{
    EvalTransform(int resizeShorter, int cropSize, bool stretch)
    {
        ResizeShorter = resizeShorter;
        CropSize = cropSize;
        Stretch = stretch;
    }

    /// <summary>Shorter side after resizing (equal to <see cref="CropSize"/> when stretching).</summary>
    public int ResizeShorter { get; }

    /// <summary>Output side: the batch is [B, 3, CropSize, CropSize].</summary>
    public int CropSize { get; }

    /// <summary>True when the whole image is resized to CropSize × CropSize (aspect not kept).</summary>
    public bool Stretch { get; }

    /// <summary>Resize the shorter side to <paramref name="resizeShorter"/>, then centre-crop <paramref name="cropSize"/>.</summary>
    public static EvalTransform ResizeCenterCrop(int resizeShorter, int cropSize, int patchSize = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cropSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(resizeShorter, cropSize);
        CheckPatch(cropSize, patchSize);
        return new EvalTransform(resizeShorter, cropSize, stretch: false);
    }

    /// <summary>The reference evaluation size ratio 256/224 for a crop of <paramref name="cropSize"/>.</summary>
    public static EvalTransform ForCrop(int cropSize, int patchSize = 1) =>
        ResizeCenterCrop((int)Math.Round(cropSize * 256.0 / 224.0), cropSize, patchSize);

    /// <summary>Resize every image to <paramref name="size"/> × <paramref name="size"/>.</summary>
    public static EvalTransform Resize(int size, int patchSize = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        CheckPatch(size, patchSize);
        return new EvalTransform(size, size, stretch: true);
    }

    static void CheckPatch(int size, int patchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patchSize, 1);
        if (size % patchSize != 0)
            throw new ArgumentException($"Eval size {size} must be a multiple of the patch size {patchSize}.", nameof(size));
    }

    /// <summary>Writes one image as normalised CHW floats (3·CropSize² values) into <paramref name="destination"/>.</summary>
    public void Apply(RgbImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        bool grey = image.IsGreyscale();   // one plane through the resize, copied to three by the normalisation
        if (Stretch)
        {
            BicubicResize.ResizeToChw(image, new CropBox(0, 0, image.Height, image.Width), CropSize, CropSize, false, destination, grey);
        }
        else
        {
            // Centre crop expressed in source pixels, so resize and crop are one resampling (no intermediate image).
            // Like torchvision Resize(int): the shorter side becomes ResizeShorter, the longer side int(long·s/short).
            int rw = image.Width <= image.Height ? ResizeShorter : (int)(ResizeShorter * (double)image.Width / image.Height);
            int rh = image.Height <= image.Width ? ResizeShorter : (int)(ResizeShorter * (double)image.Height / image.Width);
            int top = (int)Math.Round((rh - CropSize) / 2.0), left = (int)Math.Round((rw - CropSize) / 2.0);
            // Map the crop window back to the source (rounded to whole source pixels, a sub-pixel difference from
            // resize-then-crop); the bicubic weights are computed on that window.
            double sx = (double)image.Width / rw, sy = (double)image.Height / rh;
            int x0 = (int)Math.Round(left * sx), y0 = (int)Math.Round(top * sy);
            int w = Math.Clamp((int)Math.Round(CropSize * sx), 1, image.Width - x0);
            int h = Math.Clamp((int)Math.Round(CropSize * sy), 1, image.Height - y0);
            BicubicResize.ResizeToChw(image, new CropBox(y0, x0, h, w), CropSize, CropSize, false, destination, grey);
        }
        ColorOps.Normalize(destination, CropSize * CropSize, ColorOps.ImageNetMean, ColorOps.ImageNetStd, grey ? 1 : 3);
    }

    /// <summary>[B, 3, CropSize, CropSize] float32 for a list of images.</summary>
    public Tensor ToBatch(IReadOnlyList<RgbImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        int len = 3 * CropSize * CropSize;
        var data = new float[images.Count * len];
        Parallel.For(0, images.Count, i => Apply(images[i], data.AsSpan(i * len, len)));
        return torch.tensor(data, [images.Count, 3, CropSize, CropSize]);
    }
}
