using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// Builds the frozen-feature input of DINOv2's linear evaluation (dinov2/eval/linear.py, create_linear_input):
/// the class tokens of the last n blocks concatenated, optionally followed by the mean of the last block's patch
/// tokens. DINOv2 takes these from get_intermediate_layers(..., return_class_token=True) with the final norm applied,
/// so pass normed tokens; DINOv2 reports n ∈ {1, 4} × avgpool ∈ {false, true} and keeps the best.
/// </summary>
public static class LinearProbeFeatures
{
    /// <summary>Concatenates the last <paramref name="lastBlocks"/> class tokens and, with <paramref name="averagePool"/>, the average patch token.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lastBlocks"/> is not in [1, number of class tokens].</exception>
    /// <exception cref="ArgumentException">The tokens are not all [B, D], or the patch tokens are not [B, P, D].</exception>
    /// <param name="blockClassTokens">Class token of each block, oldest first, each [B, D]; the last <paramref name="lastBlocks"/> are used.</param>
    /// <param name="lastBlockPatchTokens">[B, P, D] patch tokens of the last block (needed only with <paramref name="averagePool"/>).</param>
    /// <param name="lastBlocks">How many of the last blocks' class tokens to concatenate (DINOv2: 1 or 4).</param>
    /// <param name="averagePool">Append the average of the last block's patch tokens.</param>
    /// <returns>[B, lastBlocks·D (+ D)] float32.</returns>
    public static Tensor Create(IReadOnlyList<Tensor> blockClassTokens, Tensor? lastBlockPatchTokens, int lastBlocks, bool averagePool)
    {
        ArgumentNullException.ThrowIfNull(blockClassTokens);
        if (lastBlocks <= 0 || lastBlocks > blockClassTokens.Count)
            throw new ArgumentOutOfRangeException(nameof(lastBlocks), $"lastBlocks must be in [1, {blockClassTokens.Count}] (the class tokens given), got {lastBlocks}.");
        var used = blockClassTokens.Skip(blockClassTokens.Count - lastBlocks).ToList();
        long b = used[0].shape[0];
        foreach (var t in used)
            if (t.dim() != 2 || t.shape[0] != b || t.shape[1] != used[0].shape[1])
                throw new ArgumentException($"Every class token must be [B, D] = [{b}, {used[0].shape[1]}], got [{string.Join(", ", t.shape)}].", nameof(blockClassTokens));
        if (averagePool)
        {
            ArgumentNullException.ThrowIfNull(lastBlockPatchTokens, nameof(lastBlockPatchTokens));
            if (lastBlockPatchTokens.dim() != 3 || lastBlockPatchTokens.shape[0] != b)
                throw new ArgumentException($"Expected patch tokens [B = {b}, P, D], got [{string.Join(", ", lastBlockPatchTokens.shape)}].", nameof(lastBlockPatchTokens));
        }
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var parts = new List<Tensor>(used);
        if (averagePool) parts.Add(lastBlockPatchTokens!.mean([1]));    // [B, D]
        return torch.cat(parts, -1).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
