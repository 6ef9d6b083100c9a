using DinoSharp.Data;
using DinoSharp.Eval;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>Anything that turns decoded images into one L2-normalised vector each: a backbone or a baseline.</summary>
public interface IImageEmbedder : IDisposable
{
    /// <summary>What produced the vectors (stores refuse to mix identities).</summary>
    ModelIdentity Identity { get; }

    /// <summary>[B, E] float32 on the CPU, rows L2-normalised.</summary>
    Tensor Embed(IReadOnlyList<RgbImage> images);
}
