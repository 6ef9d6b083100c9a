using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// In-place truncated normal init, by inverse CDF as PyTorch's <c>nn.init.trunc_normal_</c> does (cut-offs a, b are
/// absolute values, not multiples of std). Written here because TorchSharp 0.107's <c>init.trunc_normal_(t, 0, 0.02, -2, 2)</c>
/// filled every element with 0.02 when we probed it (Linux x64, libtorch 2.10), i.e. no randomness at all.
/// </summary>
public static class TruncatedNormal
{
    /// <summary>Fills <paramref name="tensor"/> in place with N(<paramref name="mean"/>, <paramref name="std"/>²) restricted to [<paramref name="a"/>, <paramref name="b"/>], without recording gradients, drawn from <paramref name="generator"/> when given (else libtorch's global generator).</summary>
    /// <returns><paramref name="tensor"/> itself.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="std"/> is not positive or <paramref name="a"/> ≥ <paramref name="b"/>.</exception>
    public static Tensor Fill(Tensor tensor, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(std > 0) || !(a < b))
            throw new ArgumentOutOfRangeException(nameof(std), $"Need std > 0 and a < b, got std={std}, a={a}, b={b}.");
        double lower = NormalCdf((a - mean) / std), upper = NormalCdf((b - mean) / std);
        using (torch.no_grad())
        {
            // u ~ U(2l−1, 2u−1), then erfinv maps it to a standard normal restricted to [(a−μ)/σ, (b−μ)/σ].
            tensor.uniform_(2 * lower - 1, 2 * upper - 1, generator);
            tensor.erfinv_();
            tensor.mul_(std * Math.Sqrt(2.0));
            tensor.add_(mean);
            tensor.clamp_(a, b);
        }
        return tensor;
    }

    static double NormalCdf(double x)
    {
        using var t = torch.tensor(x / Math.Sqrt(2.0), ScalarType.Float64);
        using var e = t.erf();
        return 0.5 * (1.0 + e.item<double>());
    }
}
