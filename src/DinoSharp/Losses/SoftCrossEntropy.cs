using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Losses;

/// <summary>The per-row term shared by the DINO and iBOT losses.</summary>
public static class SoftCrossEntropy
{
    /// <summary>
    /// Σ_k t_k · log_softmax(s/τ)_k over the last axis (note the sign: this is the NEGATIVE cross-entropy, as dinov2's
    /// <c>lossfunc</c> returns it). teacherProbs and studentLogits [..., K] → [...].
    /// </summary>
    public static Tensor NegativeTerm(Tensor teacherProbs, Tensor studentLogits, double studentTemp)
    {
        using var scope = torch.NewDisposeScope();
        var logProbs = nn.functional.log_softmax(studentLogits / studentTemp, dim: -1);
        return (teacherProbs * logProbs).sum(dim: -1).MoveToOuterDisposeScope();
    }

    /// <summary>Mean entropy −Σ p log p of probability rows [..., K] (a collapse signal: → 0 when one prototype wins, → log K when uniform).</summary>
    public static Tensor MeanEntropy(Tensor probs)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var entropy = -(probs * probs.clamp_min(1e-30).log()).sum(dim: -1);
        return entropy.mean().MoveToOuterDisposeScope();
    }
}
