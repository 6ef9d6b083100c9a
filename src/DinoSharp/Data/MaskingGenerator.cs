namespace DinoSharp.Data;

/// <summary>
/// iBOT's block-wise patch masking (dinov2/data/masking.py MaskingGenerator), ported line by line: rectangles of
/// target area U(minNumPatches, remaining) and log-uniform aspect are added, up to 10 tries each, only if they add at
/// least one new patch and no more than the remaining budget, until the requested count is reached or a rectangle
/// cannot be placed. The result never has more masked patches than requested.
/// </summary>
public sealed class MaskingGenerator
{
    const int Tries = 10;

    readonly double _logAspectMin, _logAspectMax;

    /// <summary>A generator for masks over a <paramref name="gridHeight"/>×<paramref name="gridWidth"/> patch grid.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A grid side is below 1, <paramref name="minNumPatches"/> is negative, or an aspect bound is not positive and ordered.</exception>
    /// <param name="gridHeight">Patch rows of a global crop.</param>
    /// <param name="gridWidth">Patch columns of a global crop.</param>
    /// <param name="minNumPatches">Smallest rectangle area in patches (4).</param>
    /// <param name="maxNumPatches">Largest rectangle area; null means 0.5·N, what dinov2's training passes.</param>
    /// <param name="minAspect">Smallest rectangle aspect h/w (0.3).</param>
    /// <param name="maxAspect">Largest aspect; null means 1/minAspect.</param>
    public MaskingGenerator(int gridHeight, int gridWidth, int minNumPatches = 4, double? maxNumPatches = null,
        double minAspect = 0.3, double? maxAspect = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gridHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gridWidth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(minNumPatches);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(minAspect, 0.0);
        GridHeight = gridHeight;
        GridWidth = gridWidth;
        MinNumPatches = minNumPatches;
        MaxNumPatches = maxNumPatches ?? 0.5 * NumPatches;
        double maxA = maxAspect ?? 1.0 / minAspect;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxA, minAspect, nameof(maxAspect));
        _logAspectMin = Math.Log(minAspect);
        _logAspectMax = Math.Log(maxA);
    }

    /// <summary>Patch rows of the grid.</summary>
    public int GridHeight { get; }
    /// <summary>Patch columns of the grid.</summary>
    public int GridWidth { get; }
    /// <summary>Patches in the grid, GridHeight·GridWidth (the length of a generated mask).</summary>
    public int NumPatches => GridHeight * GridWidth;
    /// <summary>Smallest area of one masking rectangle, in patches.</summary>
    public int MinNumPatches { get; }
    /// <summary>Largest area of one masking rectangle, in patches (0.5·<see cref="NumPatches"/> unless given).</summary>
    public double MaxNumPatches { get; }

    /// <summary>A row-major [GridHeight·GridWidth] mask with at most <paramref name="numMasking"/> true entries.</summary>
    public bool[] Generate(int numMasking, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var mask = new bool[NumPatches];
        int count = 0;
        while (count < numMasking)
        {
            double budget = Math.Min(numMasking - count, MaxNumPatches);
            int delta = AddRectangle(mask, budget, rng);
            if (delta == 0) break;
            count += delta;
        }
        return mask;
    }

    int AddRectangle(bool[] mask, double maxMaskPatches, Random rng)
    {
        int delta = 0;
        for (int attempt = 0; attempt < Tries; attempt++)
        {
            double targetArea = MinNumPatches + (maxMaskPatches - MinNumPatches) * rng.NextDouble();
            double aspect = Math.Exp(_logAspectMin + (_logAspectMax - _logAspectMin) * rng.NextDouble());
            int h = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int w = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            // Strict '<' as in the reference: a rectangle never spans the whole grid side.
            if (w < GridWidth && h < GridHeight)
            {
                int top = rng.Next(0, GridHeight - h + 1);
                int left = rng.Next(0, GridWidth - w + 1);
                int already = 0;
                for (int i = top; i < top + h; i++)
                    for (int j = left; j < left + w; j++)
                        if (mask[i * GridWidth + j]) already++;
                int added = h * w - already;
                if (added > 0 && added <= maxMaskPatches)
                {
                    for (int i = top; i < top + h; i++)
                        for (int j = left; j < left + w; j++)
                            if (!mask[i * GridWidth + j])
                            {
                                mask[i * GridWidth + j] = true;
                                delta++;
                            }
                }
                if (delta > 0) break;
            }
        }
        return delta;
    }
}
