namespace DinoSharp.Eval;

/// <summary>The JSON sidecar written next to the safetensors file of an <see cref="EmbeddingStore"/>.</summary>
/// <param name="FormatVersion">Bumped on any incompatible change; <see cref="EmbeddingStore.FormatVersion"/>.</param>
/// <param name="Identity">The model and feature recipe that produced every row.</param>
/// <param name="CreatedUtc">When the store was first created (kept across appends).</param>
/// <param name="Rows">Row count; equals the first dimension of the <c>embeddings</c> tensor.</param>
/// <param name="Dimension">Embedding width D.</param>
/// <param name="SafetensorsSha256">Hex SHA-256 of the safetensors file saved together with this sidecar.</param>
/// <param name="ClassNames">Class names indexed by label (may be empty).</param>
/// <param name="Items">One entry per row, in row order.</param>
/// <param name="Source">Optional: how the model was named when the store was made (e.g. a run folder), so tools can
/// re-open it to embed queries; the <paramref name="Identity"/> stays the authority on whether a model matches.</param>
/// <param name="Shard">Set when the store is one shard of a dataset embedded in parts (<see cref="EmbeddingShards"/>).</param>
public sealed record EmbeddingStoreSidecar(
    int FormatVersion,
    ModelIdentity Identity,
    DateTimeOffset CreatedUtc,
    long Rows,
    int Dimension,
    string SafetensorsSha256,
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<EmbeddingRow> Items,
    string? Source = null,
    EmbeddingShard? Shard = null);
