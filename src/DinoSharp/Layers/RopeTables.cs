using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>What RoPE's position embedding returns for an H×W patch grid: sin and cos of the angles, each [H·W, D_head], in RoPE's dtype.</summary>
/// <param name="Sin">sin(angles) [H·W, D_head].</param>
/// <param name="Cos">cos(angles) [H·W, D_head].</param>
public sealed record RopeTables(Tensor Sin, Tensor Cos) : IDisposable
{
    /// <summary>Frees both tables.</summary>
    public void Dispose()
    {
        Sin.Dispose();
        Cos.Dispose();
    }

    /// <summary>
    /// dinov3's apply_rope on q or k [B, heads, N, D_head]: the tensor is cast to the tables' dtype (every row, the
    /// unrotated cls and storage rows too), its last H·W rows become x·cos + rotate_half(x)·sin with
    /// rotate_half([a, b]) = [−b, a], and the result is cast back to the input's dtype.
    /// </summary>
    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        var dtype = x.dtype;
        var t = x.to(Sin.dtype);
        int prefix = (int)(t.shape[2] - Sin.shape[0]);
        if (prefix < 0)
            throw new ArgumentException($"RoPE tables cover {Sin.shape[0]} patches but the sequence has only {t.shape[2]} tokens.");
        var patches = t[.., .., prefix..];
        var halves = patches.chunk(2, -1);
        var rotated = cat([-halves[1], halves[0]], -1);
        var roped = patches * Cos + rotated * Sin;
        return cat([t[.., .., ..prefix], roped], 2).to(dtype).MoveToOuterDisposeScope();
    }
}
