namespace DinoSharp.Training;

/// <summary>
/// Schedules as precomputed tables indexed by iteration (dinov2's <c>CosineScheduler</c> and friends). Pure functions:
/// every call returns a new array of exactly <c>totalIters</c> values and rejects inconsistent arguments.
/// </summary>
public static class Schedules
{
    /// <summary>
    /// <paramref name="freezeIters"/> zeros, then a linear warm-up over <paramref name="warmupIters"/> iterations from
    /// <paramref name="startWarmupValue"/> to <paramref name="baseValue"/> (both ends included, as numpy.linspace), then a
    /// half cosine final + ½(base − final)(1 + cos(π·i/len)), i = 0 … len−1 with len = total − warmup − freeze.
    /// The last entry is therefore slightly above <paramref name="finalValue"/>; dinov2 returns the final value past the end.
    /// </summary>
    public static double[] Cosine(double baseValue, double finalValue, int totalIters, int warmupIters = 0, double startWarmupValue = 0, int freezeIters = 0)
    {
        RequireFinite(baseValue, nameof(baseValue));
        RequireFinite(finalValue, nameof(finalValue));
        RequireFinite(startWarmupValue, nameof(startWarmupValue));
        ArgumentOutOfRangeException.ThrowIfNegative(totalIters);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupIters);
        ArgumentOutOfRangeException.ThrowIfNegative(freezeIters);
        if ((long)warmupIters + freezeIters > totalIters)
            throw new ArgumentException($"Warm-up ({warmupIters}) plus freeze ({freezeIters}) iterations exceed the total ({totalIters}).");

        var table = new double[totalIters];
        Linspace(startWarmupValue, baseValue, warmupIters).CopyTo(table, freezeIters);
        int start = freezeIters + warmupIters, length = totalIters - start;
        for (int i = 0; i < length; i++)
            table[start + i] = finalValue + 0.5 * (baseValue - finalValue) * (1 + Math.Cos(Math.PI * i / length));
        return table;
    }

    /// <summary>
    /// Linear warm-up from <paramref name="startValue"/> to <paramref name="value"/> over <paramref name="warmupIters"/>
    /// iterations (linspace, ends included), then constant (dinov2's teacher temperature). If the run is shorter than the
    /// warm-up, the table holds the first <paramref name="totalIters"/> warm-up values.
    /// </summary>
    public static double[] LinearWarmupThenConstant(double startValue, double value, int warmupIters, int totalIters)
    {
        RequireFinite(startValue, nameof(startValue));
        RequireFinite(value, nameof(value));
        ArgumentOutOfRangeException.ThrowIfNegative(warmupIters);
        ArgumentOutOfRangeException.ThrowIfNegative(totalIters);
        var table = new double[totalIters];
        Array.Fill(table, value);
        var warmup = Linspace(startValue, value, warmupIters);
        Array.Copy(warmup, table, Math.Min(warmup.Length, totalIters));
        return table;
    }

    /// <summary>A copy of <paramref name="schedule"/> with its first <paramref name="frozenIters"/> entries set to 0 (clamped to the length).</summary>
    public static double[] WithFrozenPrefix(double[] schedule, int frozenIters)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentOutOfRangeException.ThrowIfNegative(frozenIters);
        var table = (double[])schedule.Clone();
        Array.Clear(table, 0, Math.Min(frozenIters, table.Length));
        return table;
    }

    /// <summary>numpy.linspace(start, stop, count): both ends included, a single point is <paramref name="start"/>.</summary>
    public static double[] Linspace(double start, double stop, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var values = new double[count];
        if (count == 0) return values;
        double step = count > 1 ? (stop - start) / (count - 1) : 0;
        for (int i = 0; i < count; i++) values[i] = start + i * step;
        if (count > 1) values[^1] = stop;
        return values;
    }

    static void RequireFinite(double value, string name)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, "Schedule values must be finite.");
    }
}
