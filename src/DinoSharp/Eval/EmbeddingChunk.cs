namespace DinoSharp.Eval;

/// <summary>
/// Images [<paramref name="Start"/>, <paramref name="End"/>) of a dataset embedded as whole batches (a chunk of
/// <see cref="DatasetEmbeddingOptions.ChunkBatches"/> batches), as handed to <see cref="DatasetEmbeddingOptions.ChunkCompleted"/>.
/// </summary>
/// <param name="Start">The first image index of the chunk.</param>
/// <param name="End">One past its last image index.</param>
/// <param name="Rows">The chunk's rows (owned by the embedder: copy what you keep); <c>Embeddings</c> is [0] when no image of the chunk could be decoded.</param>
public sealed record EmbeddingChunk(int Start, int End, EmbeddedDataset Rows);
