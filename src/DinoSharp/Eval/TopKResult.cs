using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>Exact top-k of a search: <see cref="Scores"/> [Q, k] float32 sorted descending and <see cref="Indices"/> [Q, k] int64.</summary>
/// <param name="Scores">[Q, k] float32 similarities, best first.</param>
/// <param name="Indices">[Q, k] int64 database rows of those similarities.</param>
public sealed record TopKResult(Tensor Scores, Tensor Indices) : IDisposable
{
    /// <summary>Frees <see cref="Scores"/> and <see cref="Indices"/>.</summary>
    public void Dispose()
    {
        Scores.Dispose();
        Indices.Dispose();
    }
}
