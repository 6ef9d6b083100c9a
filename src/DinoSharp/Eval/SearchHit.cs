namespace DinoSharp.Eval;

/// <summary>One neighbour of a query: its row in the searched set and its similarity (dot product; cosine for normalised rows).</summary>
public sealed record SearchHit(long Index, float Score);
