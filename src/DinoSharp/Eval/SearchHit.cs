namespace DinoSharp.Eval;

/// <summary>One neighbour of a query: its row in the searched set and its similarity (dot product; cosine for normalised rows).</summary>
/// <param name="Index">Row of the neighbour in the searched set (e.g. the embedding store).</param>
/// <param name="Score">Dot product with the query, in [−1, 1] for normalised rows; higher is closer.</param>
public sealed record SearchHit(long Index, float Score);
