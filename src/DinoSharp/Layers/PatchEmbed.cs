using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>Image to patch tokens: Conv2d(kernel = stride = patch), flattened row-major over the (H/p, W/p) grid.</summary>
public sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    readonly Conv2d proj;

    public PatchEmbed(int patchSize, int inChans, long embedDim) : base(nameof(PatchEmbed))
    {
        PatchSize = patchSize;
        proj = nn.Conv2d(inChans, embedDim, patchSize, stride: patchSize);
        RegisterComponents();
    }

    public int PatchSize { get; }

    public override Tensor forward(Tensor x)
    {
        if (x.dim() != 4)
            throw new ArgumentException($"Expected images [B, C, H, W], got a tensor of shape [{string.Join(", ", x.shape)}].");
        if (x.shape[2] % PatchSize != 0 || x.shape[3] % PatchSize != 0)
            throw new ArgumentException($"Image size {x.shape[2]}×{x.shape[3]} is not a multiple of the patch size {PatchSize}.");
        using var y = proj.forward(x);            // [B, D, h, w]
        return y.flatten(2).transpose(1, 2);      // [B, h·w, D]
    }
}
