namespace DinoSharp.Eval;

/// <summary>Which images of a dataset <see cref="DatasetEmbedder"/> embeds, in what batches, and whom it tells.</summary>
public sealed record DatasetEmbeddingOptions
{
    /// <summary>Images per forward pass (the command line's default, 256).</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>First image index embedded (a shard's start).</summary>
    public int Start { get; init; }
    /// <summary>One past the last image index embedded; null: the whole dataset (clamped to its size).</summary>
    public int? End { get; init; }
    /// <summary>Called after each batch with the number of images it covered (decoded or skipped), e.g. for a progress bar.</summary>
    public Action<int>? Advanced { get; init; }
    /// <summary>Called with the message of each image that cannot be decoded and is skipped; null: skipped silently (they are listed in the result).</summary>
    public Action<string>? Skipped { get; init; }
}
