using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>
/// Lloyd's k-means with k-means++ seeding (Arthur and Vassilvitskii 2007: each next centre drawn with probability
/// ∝ squared distance to the nearest chosen one), several seeded restarts keeping the lowest inertia, Euclidean or
/// cosine (spherical: rows and centroids L2-normalised; squared Euclidean on unit vectors is 2 − 2·cos, so the same
/// seeding applies). A cluster that empties is re-seeded with the row farthest from its centroid. Distances are
/// computed in row blocks bounded by <see cref="KMeansOptions.MemoryBudgetBytes"/>.
/// </summary>
public sealed class KMeans
{
    /// <summary>A k-means with <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Clusters, Restarts or MaxIterations is not positive, or Tolerance is negative.</exception>
    public KMeans(KMeansOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Clusters <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"KMeansOptions.Clusters must be positive, got {options.Clusters}.");
        if (options.Restarts <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"KMeansOptions.Restarts must be positive, got {options.Restarts}.");
        if (options.MaxIterations <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"KMeansOptions.MaxIterations must be positive, got {options.MaxIterations}.");
        if (options.Tolerance < 0) throw new ArgumentOutOfRangeException(nameof(options), $"KMeansOptions.Tolerance must be ≥ 0, got {options.Tolerance}.");
        Options = options;
    }

    /// <summary>The settings every <see cref="Fit"/> uses.</summary>
    public KMeansOptions Options { get; }

    /// <summary>Clusters the rows of <paramref name="data"/> [N, D] (N ≥ K).</summary>
    public KMeansResult Fit(Tensor data)
    {
        EmbeddingMath.RequireMatrix(data, nameof(data));
        int k = Options.Clusters;
        if (data.shape[0] < k)
            throw new ArgumentException($"Cannot form {k} clusters from {data.shape[0]} rows.", nameof(data));

        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        bool cosine = Options.Metric == KMeansMetric.Cosine;
        var x = cosine ? EmbeddingMath.Normalize(data) : data.to(ScalarType.Float32);
        double tolerance = Options.Tolerance * x.var(0).mean().item<float>();
        using var gen = new Generator((ulong)Options.Seed, x.device);

        Tensor? bestCentroids = null;
        Tensor? bestAssign = null;
        double bestInertia = double.PositiveInfinity;
        int bestIterations = 0;
        bool bestConverged = false;
        for (int restart = 0; restart < Options.Restarts; restart++)
        {
            using var runScope = torch.NewDisposeScope();
            var centroids = InitPlusPlus(x, k, gen);
            int iterations = 0;
            bool converged = false;
            while (iterations < Options.MaxIterations)
            {
                using var stepScope = torch.NewDisposeScope();
                iterations++;
                var (assign, distance) = Assign(x, centroids);
                var updated = Update(x, assign, distance, centroids, cosine);
                double shift = (updated - centroids).square().sum().item<float>();
                centroids.Dispose();
                centroids = updated.MoveToOuterDisposeScope();
                if (shift <= tolerance) { converged = true; break; }
            }
            var (finalAssign, finalDistance) = Assign(x, centroids);
            double inertia = finalDistance.to(ScalarType.Float64).sum().item<double>();
            if (cosine) inertia /= 2;   // distance here is ‖x − c‖² = 2 − 2·cos on unit vectors
            if (inertia < bestInertia)
            {
                bestInertia = inertia;
                bestCentroids?.Dispose();
                bestAssign?.Dispose();
                bestCentroids = centroids.MoveToOuterDisposeScope();
                bestAssign = finalAssign.MoveToOuterDisposeScope();
                bestIterations = iterations;
                bestConverged = converged;
            }
        }
        using var assignCpu = bestAssign!.cpu();
        return new KMeansResult(bestCentroids!.MoveToOuterDisposeScope(), assignCpu.data<long>().ToArray(), bestInertia,
            bestIterations, bestConverged, Options.Metric);
    }

    static Tensor InitPlusPlus(Tensor x, int k, Generator gen)
    {
        long n = x.shape[0];
        var chosen = new long[k];
        chosen[0] = torch.randint(0, n, [1], generator: gen, device: x.device).item<long>();
        var nearest = SquaredDistance(x, x[chosen[0]]);                               // [N]
        for (int j = 1; j < k; j++)
        {
            using var scope = torch.NewDisposeScope();
            double total = nearest.sum().item<float>();
            chosen[j] = total > 0
                ? torch.multinomial(nearest, 1, replacement: false, generator: gen).item<long>()
                : torch.randint(0, n, [1], generator: gen, device: x.device).item<long>();   // all rows coincide with centres
            var updated = torch.minimum(nearest, SquaredDistance(x, x[chosen[j]]));
            nearest.Dispose();
            nearest = updated.MoveToOuterDisposeScope();
        }
        nearest.Dispose();
        return x[torch.tensor(chosen, device: x.device)].clone();                   // [K, D]
    }

    static Tensor SquaredDistance(Tensor x, Tensor c) => (x - c).square().sum(1);  // x [N, D], c [D] → [N]

    /// <summary>Nearest centroid per row and its squared distance, in row blocks: ‖x‖² − 2x·c + ‖c‖².</summary>
    (Tensor Assign, Tensor Distance) Assign(Tensor x, Tensor centroids)
    {
        long n = x.shape[0], k = centroids.shape[0];
        long block = Math.Max(1, Options.MemoryBudgetBytes / (8 * k));
        var cNorm = centroids.square().sum(1);                                         // [K]
        var assign = new List<Tensor>();
        var distance = new List<Tensor>();
        for (long start = 0; start < n; start += block)
        {
            using var scope = torch.NewDisposeScope();
            var xb = x.narrow(0, start, Math.Min(block, n - start));
            var d = xb.square().sum(1, keepdim: true) - 2 * xb.matmul(centroids.t()) + cNorm;   // [b, K]
            var (min, arg) = d.min(1);
            assign.Add(arg.MoveToOuterDisposeScope());
            distance.Add(min.clamp_min(0).MoveToOuterDisposeScope());
        }
        return (torch.cat(assign, 0), torch.cat(distance, 0));
    }

    static Tensor Update(Tensor x, Tensor assign, Tensor distance, Tensor centroids, bool cosine)
    {
        long k = centroids.shape[0];
        var sums = torch.zeros_like(centroids).index_add_(0, assign, x, 1);             // [K, D]
        var counts = torch.bincount(assign, minlength: k);                             // [K]
        var updated = sums / counts.clamp_min(1).unsqueeze(1).to(ScalarType.Float32);
        using var countsCpu = counts.cpu();
        var empty = countsCpu.data<long>().ToArray().Select((c, i) => (c, i)).Where(t => t.c == 0).Select(t => t.i).ToArray();
        if (empty.Length > 0)
        {
            // Re-seed each empty cluster with one of the rows farthest from their current centroid.
            var (_, far) = distance.topk(empty.Length);
            using var farCpu = far.cpu();
            var rows = farCpu.data<long>().ToArray();
            for (int i = 0; i < empty.Length; i++) updated[empty[i]] = x[rows[i]];
        }
        return cosine ? EmbeddingMath.Normalize(updated) : updated;
    }
}
