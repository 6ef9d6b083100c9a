namespace DinoSharp.Data;

/// <summary>A closed interval [Min, Max] of a sampled quantity (crop area fraction, aspect ratio).</summary>
/// <param name="Min">Lower bound (inclusive).</param>
/// <param name="Max">Upper bound, ≥ <paramref name="Min"/>.</param>
public sealed record ScaleRange(double Min, double Max);
