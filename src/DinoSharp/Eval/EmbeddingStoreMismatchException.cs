namespace DinoSharp.Eval;

/// <summary>
/// Embeddings of one <see cref="ModelIdentity"/> were offered to a store (or compared with a set) of another: vectors
/// from two models, preprocessings or feature kinds live in different spaces and are never mixed.
/// </summary>
public sealed class EmbeddingStoreMismatchException(string message) : InvalidOperationException(message);
