using DinoSharp.Data;

namespace DinoSharp.Visualize;

/// <summary>Outcome of <see cref="PatchPca.Compute"/>.</summary>
/// <param name="Images">One w × h RGB image per input (one pixel per patch); background patches are black.</param>
/// <param name="Foreground">Per input, row-major h·w flags (all true without a threshold).</param>
/// <param name="Components">[3, D] principal directions of the (last) fit, unit length, sign-fixed (largest-|value| entry positive).</param>
/// <param name="ExplainedVarianceRatio">Share of the total variance each of the three components explains in the (last) fit.</param>
public sealed record PatchPcaResult(
    IReadOnlyList<RgbImage> Images,
    IReadOnlyList<bool[]> Foreground,
    float[,] Components,
    double[] ExplainedVarianceRatio);
