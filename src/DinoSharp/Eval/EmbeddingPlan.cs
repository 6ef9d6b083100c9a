namespace DinoSharp.Eval;

/// <summary>
/// What an interrupted embedding was doing, saved with its chunks (<see cref="EmbeddingChunkFolder"/>): a run continues
/// them only when it asks for exactly the same work, so the resumed result equals an uninterrupted one.
/// </summary>
/// <param name="Identity">The model, preprocessing and feature kind (<see cref="ModelIdentity.ToString"/>).</param>
/// <param name="Dataset">The dataset string.</param>
/// <param name="Start">First image index of the range embedded.</param>
/// <param name="End">One past its last image index.</param>
/// <param name="BatchSize">Images per forward pass.</param>
/// <param name="ChunkBatches">Batches per chunk.</param>
public sealed record EmbeddingPlan(string Identity, string Dataset, int Start, int End, int BatchSize, int ChunkBatches);
