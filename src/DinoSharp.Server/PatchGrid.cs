namespace DinoSharp.Server;

/// <summary>An image's patch features: <see cref="Height"/> × <see cref="Width"/> patches, each an L2-normalised row of <see cref="Dimension"/> floats.</summary>
sealed record PatchGrid(int Height, int Width, int Dimension, float[] Features)
{
    /// <summary>Cosine similarity of patch (<paramref name="row"/>, <paramref name="col"/>) of <paramref name="source"/> with every patch of this grid, row-major.</summary>
    public float[] SimilarityTo(PatchGrid source, int row, int col)
    {
        var query = source.Features.AsSpan((row * source.Width + col) * Dimension, Dimension);
        var map = new float[Height * Width];
        for (int j = 0; j < map.Length; j++)
        {
            var patch = Features.AsSpan(j * Dimension, Dimension);
            double dot = 0;
            for (int d = 0; d < Dimension; d++) dot += query[d] * patch[d];
            map[j] = (float)dot;
        }
        return map;
    }
}
