namespace DinoSharp.Data;

/// <summary>A closed interval [Min, Max] of a sampled quantity (crop area fraction, aspect ratio).</summary>
public sealed record ScaleRange(double Min, double Max);
