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
    /// <summary>Called with the warning line (<see cref="Data.UnreadableImages.WarningFor(string)"/>) of each image that cannot be decoded and is skipped; null: skipped silently (they are listed in the result).</summary>
    public Action<string>? Skipped { get; init; }
    /// <summary>
    /// Batches per chunk handed to <see cref="ChunkCompleted"/> (e.g. to flush them to disk and resume from the last
    /// complete chunk after a kill); 0: no chunks. Batches always start at <see cref="Start"/> + k·<see cref="BatchSize"/>,
    /// so a run resumed at a chunk boundary embeds the same batches, and the same bytes, as an uninterrupted one.
    /// </summary>
    public int ChunkBatches { get; init; }
    /// <summary>Called with each complete chunk, in order, when <see cref="ChunkBatches"/> is above 0.</summary>
    public Action<EmbeddingChunk>? ChunkCompleted { get; init; }
}
