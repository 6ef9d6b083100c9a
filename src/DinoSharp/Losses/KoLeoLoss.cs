using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Losses;

/// <summary>
/// Kozachenko–Leonenko differential-entropy regulariser (Sablayrolles et al., 2018), as dinov2's <c>KoLeoLoss</c>:
/// −mean_i log(‖x̂_i − x̂_nn(i) + ε‖₂ + ε) with x̂ = x / max(‖x‖, ε), ε = 1e-8, nn(i) the nearest other row.
/// It spreads the batch's features apart; input [B, D] with B ≥ 2, output a scalar.
/// </summary>
public sealed class KoLeoLoss : Module<Tensor, Tensor>
{
    /// <summary>ε of the normalisation and of the pairwise distance (dinov2's 1e-8).</summary>
    public const double Epsilon = 1e-8;

    /// <summary>The loss has no parameters or state.</summary>
    public KoLeoLoss() : base(nameof(KoLeoLoss)) { }

    /// <summary>features [B, D] (any scale; rows are L2-normalised here) → scalar loss; gradients flow through the distances, not the neighbour choice.</summary>
    /// <exception cref="ArgumentException"><paramref name="features"/> is not 2-D or has fewer than 2 rows.</exception>
    public override Tensor forward(Tensor features)
    {
        LossGuards.Rank(features, 2, "KoLeo input [B, D]", nameof(features));
        if (features.shape[0] < 2)
            throw new ArgumentException($"KoLeo needs at least two rows to find neighbours, got {LossGuards.Shape(features)}.", nameof(features));
        using var scope = torch.NewDisposeScope();
        var x = functional.normalize(features, p: 2, dim: -1, eps: Epsilon);
        var neighbours = NearestNeighbourIndices(x);
        // PairwiseDistance(p=2, eps) adds eps to the difference before the norm.
        var distances = (x - x.index_select(0, neighbours) + Epsilon).norm(dim: -1);
        return (-(distances + Epsilon).log().mean()).MoveToOuterDisposeScope();
    }

    /// <summary>For L2-normalised rows [B, D], the index of each row's nearest other row (max dot product, self excluded by a −1 diagonal) [B].</summary>
    public static Tensor NearestNeighbourIndices(Tensor normalized)
    {
        LossGuards.Rank(normalized, 2, "Normalised features [B, D]", nameof(normalized));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        long n = normalized.shape[0];
        var dots = normalized.matmul(normalized.t());
        dots = dots.masked_fill(torch.eye(n, dtype: ScalarType.Bool, device: normalized.device), -1.0);
        return dots.argmax(dim: 1).MoveToOuterDisposeScope();
    }
}
