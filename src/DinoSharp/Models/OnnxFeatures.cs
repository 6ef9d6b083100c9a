using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>The outputs an exported graph was asked for, as CPU tensors; an output not in the graph is null.</summary>
/// <param name="ClsToken">Normalised cls token [B, D].</param>
/// <param name="PatchTokens">Normalised patch tokens [B, h·w, D].</param>
/// <param name="RegisterTokens">Normalised register tokens [B, R, D].</param>
public sealed record OnnxFeatures(Tensor? ClsToken, Tensor? PatchTokens, Tensor? RegisterTokens) : IDisposable
{
    /// <summary>Frees the tensors present.</summary>
    public void Dispose()
    {
        ClsToken?.Dispose();
        PatchTokens?.Dispose();
        RegisterTokens?.Dispose();
    }
}
