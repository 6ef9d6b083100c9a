using static TorchSharp.torch;

namespace DinoSharp.Losses;

/// <summary>Argument checks shared by the losses, with messages that name the offending shape.</summary>
internal static class LossGuards
{
    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    public static void Rank(Tensor t, int rank, string what, string paramName)
    {
        ArgumentNullException.ThrowIfNull(t, paramName);
        if (t.dim() != rank)
            throw new ArgumentException($"{what} must have {rank} dimensions, got {Shape(t)}.", paramName);
    }

    public static void LastDim(Tensor t, long size, string what, string paramName)
    {
        if (t.dim() == 0 || t.shape[^1] != size)
            throw new ArgumentException($"{what} must end with the prototype dimension {size}, got {Shape(t)}.", paramName);
    }

    public static void SameShape(Tensor a, Tensor b, string what, string paramName)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"{what}: shapes differ, {Shape(a)} vs {Shape(b)}.", paramName);
    }

    public static void Temperature(double temperature, string paramName)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(paramName, temperature, "Temperatures must be positive and finite.");
    }

    public static void Momentum(double momentum, string paramName)
    {
        if (!(momentum >= 0 && momentum <= 1))
            throw new ArgumentOutOfRangeException(paramName, momentum, "Momentum must lie in [0, 1].");
    }
}
