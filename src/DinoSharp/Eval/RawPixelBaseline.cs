using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// The "no learning" reference for kNN and linear probes: images used directly as feature vectors. Any protocol score
/// of a backbone should be read against this one.
/// </summary>
public static class RawPixelBaseline
{
    /// <summary>
    /// Flattens images [N, C, H, W] (or [N, H, W]) to float32 features [N, C·H·W]. With <paramref name="poolTo"/>, images
    /// are first average-pooled to poolTo × poolTo (adaptive), the usual way to keep raw-pixel baselines tractable.
    /// Rows are not normalised; pass the result through <see cref="EmbeddingMath.Normalize"/> for kNN. Without pooling,
    /// float32 contiguous input is returned as a view sharing its storage.
    /// </summary>
    public static Tensor Features(Tensor images, int? poolTo = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() is not (3 or 4))
            throw new ArgumentException($"Expected images of shape [N, C, H, W] or [N, H, W], got [{string.Join(", ", images.shape)}].", nameof(images));
        if (poolTo is <= 0)
            throw new ArgumentOutOfRangeException(nameof(poolTo), $"poolTo must be positive, got {poolTo}.");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = images.to(ScalarType.Float32);
        if (x.dim() == 3) x = x.unsqueeze(1);
        if (poolTo is int p) x = nn.functional.adaptive_avg_pool2d(x, [p, p]);
        return x.reshape(x.shape[0], -1).contiguous().MoveToOuterDisposeScope();
    }
}
