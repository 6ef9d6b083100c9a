using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>What the backbone's forward_features returns (dinov2's x_norm_clstoken, x_norm_regtokens, x_norm_patchtokens, x_prenorm).</summary>
/// <param name="ClsToken">Normalised cls token [B, D].</param>
/// <param name="RegisterTokens">Normalised register tokens [B, R, D] (R may be 0); DINOv3's x_storage_tokens.</param>
/// <param name="PatchTokens">Normalised patch tokens [B, h·w, D], row-major over the patch grid.</param>
/// <param name="PreNorm">All tokens after the last block, before the final norm [B, 1 + R + h·w, D].</param>
/// <param name="Masks">The patch mask that was applied [B, h·w], or null.</param>
public sealed record BackboneOutput(Tensor ClsToken, Tensor RegisterTokens, Tensor PatchTokens, Tensor PreNorm, Tensor? Masks) : IDisposable
{
    /// <summary>Frees the four token tensors (not <see cref="Masks"/>, which belongs to the caller).</summary>
    public void Dispose()
    {
        ClsToken.Dispose();
        RegisterTokens.Dispose();
        PatchTokens.Dispose();
        PreNorm.Dispose();
    }
}

/// <summary>One of get_intermediate_layers' outputs: patch tokens [B, h·w, D], the cls token [B, D] and the register (DINOv3: storage) tokens after one block.</summary>
/// <param name="PatchTokens">[B, h·w, D], after the final norm when requested.</param>
/// <param name="ClsToken">[B, D], after the final norm when requested.</param>
/// <param name="RegisterTokens">[B, R, D] (R may be 0), after the final norm when requested; null from backbones without them.</param>
public sealed record IntermediateLayer(Tensor PatchTokens, Tensor ClsToken, Tensor? RegisterTokens = null);
