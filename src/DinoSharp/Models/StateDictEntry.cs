namespace DinoSharp.Models;

/// <summary>One entry of a backbone's state dict: its key, its shape, and whether it is a buffer (not a trained parameter).</summary>
/// <param name="Key">The state-dict key, e.g. <c>blocks.0.attn.qkv.weight</c>.</param>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="IsBuffer">True for buffers (<c>rope_embed.periods</c>, <c>qkv.bias_mask</c>): in the checkpoint, not in the parameter count.</param>
public sealed record StateDictEntry(string Key, long[] Shape, bool IsBuffer = false)
{
    /// <summary>Number of elements.</summary>
    public long Numel => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>"key [d0, d1, …]".</summary>
    public override string ToString() => $"{Key} [{string.Join(", ", Shape)}]";
}
