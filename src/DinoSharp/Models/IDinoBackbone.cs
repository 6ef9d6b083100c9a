using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>
/// A backbone that evaluation code can treat like a DINO ViT: a normalised cls token and normalised patch tokens per
/// image, and the same from its last few layers. The DINOv2/DINOv3 ViTs and the DINOv3 ConvNeXt fit it.
/// </summary>
public interface IDinoBackbone : IDisposable
{
    /// <summary>Width D of the cls and patch tokens of <see cref="ForwardFeatures"/>.</summary>
    int EmbedDim { get; }

    /// <summary>
    /// Pixels per patch-token side of <see cref="ForwardFeatures"/>: an H×W input gives (H/p)·(W/p) patch tokens, and
    /// input sides should be multiples of it.
    /// </summary>
    int PatchSize { get; }

    /// <summary>forward_features: normalised cls [B, D], extra tokens [B, R, D], patch tokens [B, h·w, D], pre-norm tokens and the mask given.</summary>
    /// <param name="x">Images [B, C, H, W].</param>
    /// <param name="masks">Patch mask [B, h·w] (true = masked), or null; a backbone without a mask token ignores it and returns it as <see cref="BackboneOutput.Masks"/>.</param>
    BackboneOutput ForwardFeatures(Tensor x, Tensor? masks = null);

    /// <summary>get_intermediate_layers: patch tokens [B, h·w, Dᵢ] and cls token [B, Dᵢ] of the last <paramref name="n"/> layers, in order.</summary>
    /// <param name="x">Images [B, C, H, W].</param>
    /// <param name="n">How many of the last layers (blocks or stages).</param>
    /// <param name="applyNorm">Pass the tokens through the backbone's output norm(s), as the reference's norm=True.</param>
    IReadOnlyList<IntermediateLayer> GetIntermediateLayers(Tensor x, int n = 1, bool applyNorm = true);
}
