using DinoSharp.Data;
using DinoSharp.Eval;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>
/// The raw-pixel baseline: each image resized to size×size, its [0, 1] RGB values flattened and L2-normalised
/// (cosine similarity on pixels, the usual "kNN on raw pixels" line).
/// </summary>
/// <param name="size">Side N the images are resized to, &gt; 0 (<see cref="ArgumentOutOfRangeException"/> otherwise); the embedding has 3·N² values.</param>
public sealed class RawPixelEmbedder(int size) : IImageEmbedder
{
    readonly EvalTransform transform = EvalTransform.Resize(size);

    /// <summary>Side N in pixels of the resized image.</summary>
    public int Size { get; } = size > 0 ? size : throw new ArgumentOutOfRangeException(nameof(size), size, "Raw-pixel size must be positive.");

    /// <summary>"raw" with the size: stores of raw pixels only mix with the same size.</summary>
    public ModelIdentity Identity => new("raw", "none", $"resize to {Size}×{Size}, [0,1] RGB", "pixels");

    /// <summary>[B, 3·N²] float32 on the CPU: RGB in [0, 1], channel-major, rows L2-normalised.</summary>
    public Tensor Embed(IReadOnlyList<RgbImage> images)
    {
        using var scope = torch.NewDisposeScope();
        var x = transform.ToBatch(images);   // ImageNet-normalised → undo to [0, 1]
        var mean = torch.tensor(ColorOps.ImageNetMean).view(1, 3, 1, 1);
        var std = torch.tensor(ColorOps.ImageNetStd).view(1, 3, 1, 1);
        var pixels = (x * std + mean).flatten(1);
        return nn.functional.normalize(pixels, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>Nothing to free.</summary>
    public void Dispose() { }
}
