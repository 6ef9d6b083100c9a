using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>Exact top-k of a search: <see cref="Scores"/> [Q, k] float32 sorted descending and <see cref="Indices"/> [Q, k] int64.</summary>
public sealed record TopKResult(Tensor Scores, Tensor Indices) : IDisposable
{
    public void Dispose()
    {
        Scores.Dispose();
        Indices.Dispose();
    }
}
