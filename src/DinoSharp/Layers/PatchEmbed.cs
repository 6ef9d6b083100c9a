using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>Image to patch tokens: Conv2d(kernel = stride = patch), flattened row-major over the (H/p, W/p) grid.</summary>
public sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    readonly Conv2d proj;

    /// <summary>Creates <c>proj</c>, a Conv2d with kernel and stride <paramref name="patchSize"/>.</summary>
    /// <param name="patchSize">Patch side p in pixels.</param>
    /// <param name="inChans">Image channels C (3).</param>
    /// <param name="embedDim">Token width D.</param>
    public PatchEmbed(int patchSize, int inChans, long embedDim) : base(nameof(PatchEmbed))
    {
        PatchSize = patchSize;
        proj = nn.Conv2d(inChans, embedDim, patchSize, stride: patchSize);
        RegisterComponents();
    }

    /// <summary>Patch side p in pixels; image sides must be multiples of it.</summary>
    public int PatchSize { get; }

    /// <summary>Images [B, C, H, W] → patch tokens [B, (H/p)·(W/p), D], row-major over the patch grid.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not 4-D, or H or W is not a multiple of the patch size.</exception>
    public override Tensor forward(Tensor x)
    {
        if (x.dim() != 4)
            throw new ArgumentException($"Expected images [B, C, H, W], got a tensor of shape [{string.Join(", ", x.shape)}].");
        if (x.shape[2] % PatchSize != 0 || x.shape[3] % PatchSize != 0)
            throw new ArgumentException($"Image size {x.shape[2]}×{x.shape[3]} is not a multiple of the patch size {PatchSize}.");
        using var y = ComputePrecision.Conv2d(proj, x, PatchSize);            // [B, D, h, w]
        return y.flatten(2).transpose(1, 2);      // [B, h·w, D]
    }
}
