namespace DinoSharp.Visualize;

/// <summary>Perceptually ordered colour scales for heat maps.</summary>
public static class Colormap
{
    // matplotlib's viridis sampled at 0, 1/8, …, 1; linear interpolation between samples is visually indistinguishable.
    static readonly byte[,] Viridis =
    {
        { 68, 1, 84 }, { 71, 45, 123 }, { 59, 82, 139 }, { 44, 114, 142 }, { 33, 145, 140 },
        { 39, 173, 129 }, { 92, 200, 99 }, { 170, 220, 50 }, { 253, 231, 37 },
    };

    /// <summary>Viridis colour of <paramref name="value"/> in [0, 1] (clamped; NaN maps to 0).</summary>
    public static (byte R, byte G, byte B) ViridisAt(double value)
    {
        double v = double.IsNaN(value) ? 0 : Math.Clamp(value, 0, 1) * (Viridis.GetLength(0) - 1);
        int i = Math.Min((int)v, Viridis.GetLength(0) - 2);
        double t = v - i;
        byte Lerp(int c) => (byte)Math.Round(Viridis[i, c] + t * (Viridis[i + 1, c] - Viridis[i, c]));
        return (Lerp(0), Lerp(1), Lerp(2));
    }
}
