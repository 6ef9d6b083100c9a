using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>Small tensor helpers shared by the evaluation protocols.</summary>
public static class EmbeddingMath
{
    /// <summary>
    /// Row-wise L2 normalisation of [N, D] features (as torch.nn.functional.normalize: x / max(‖x‖, eps)), returned as
    /// float32 on the input's device. Stores, kNN and search all assume normalised rows; the caller normalises once.
    /// </summary>
    public static Tensor Normalize(Tensor features, double eps = 1e-12)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() != 2)
            throw new ArgumentException($"Expected features of shape [N, D], got [{string.Join(", ", features.shape)}].", nameof(features));
        using var scope = torch.NewDisposeScope();
        var x = features.to(ScalarType.Float32);
        var norm = x.norm(1, keepdim: true).clamp_min(eps);
        return (x / norm).MoveToOuterDisposeScope();
    }

    /// <summary>Mean pairwise cosine above which a batch of embeddings counts as near-identical (see <see cref="MeanPairwiseCosine"/>).</summary>
    public const double NearIdenticalCosine = 0.999;

    /// <summary>
    /// Mean cosine similarity over all pairs of distinct rows of [N, D] features (N ≥ 2): 1 when every row points the
    /// same way. Above <see cref="NearIdenticalCosine"/> a model does not tell the images apart — what an untrained
    /// ViT with the reference's LayerScale init (1e-5) does to its cls token — and kNN, search and clustering on it
    /// are meaningless.
    /// </summary>
    public static double MeanPairwiseCosine(Tensor features)
    {
        RequireMatrix(features, nameof(features));
        long n = features.shape[0];
        if (n < 2) throw new ArgumentException("The mean pairwise cosine needs at least two rows.", nameof(features));
        using var scope = torch.NewDisposeScope();
        var x = Normalize(features).to(ScalarType.Float64);
        // Σ_{i≠j} x_i·x_j = ‖Σ_i x_i‖² − Σ_i ‖x_i‖².
        var sum = x.sum([0L]);
        double all = sum.dot(sum).item<double>(), self = x.pow(2).sum().item<double>();
        return (all - self) / (n * (n - 1));
    }

    internal static void RequireMatrix(Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.dim() != 2)
            throw new ArgumentException($"Expected {name} of shape [N, D], got [{string.Join(", ", t.shape)}].", name);
    }

    internal static long[] RequireLabels(Tensor labels, long rows, string name)
    {
        ArgumentNullException.ThrowIfNull(labels, name);
        if (labels.dim() != 1 || labels.shape[0] != rows)
            throw new ArgumentException($"Expected {name} of shape [{rows}], got [{string.Join(", ", labels.shape)}].", name);
        using var cpu = labels.to(ScalarType.Int64, CPU);
        return cpu.data<long>().ToArray();
    }
}
