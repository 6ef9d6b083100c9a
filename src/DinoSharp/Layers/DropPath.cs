using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>Stochastic depth: during training, drop a whole residual branch per sample with probability p, and rescale the kept ones.</summary>
public sealed class DropPath : nn.Module<Tensor, Tensor>
{
    readonly double probability;

    /// <summary>Drops each sample's branch with <paramref name="probability"/> in training mode.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside [0, 1).</exception>
    public DropPath(double probability) : base(nameof(DropPath))
    {
        if (probability is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "Drop-path probability must be in [0, 1).");
        this.probability = probability;
    }

    /// <summary>See <see cref="Apply"/>, with this module's probability and training flag.</summary>
    public override Tensor forward(Tensor x) => Apply(x, probability, training);

    /// <summary>x · Bernoulli(1−p) / (1−p) with one draw per sample (first dimension); identity when p = 0 or not training.</summary>
    public static Tensor Apply(Tensor x, double p, bool training)
    {
        if (p == 0 || !training) return x.alias();
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        using var keep = torch.empty(shape, x.dtype, x.device).bernoulli_(1 - p);
        return x * keep.div_(1 - p);
    }
}
