namespace DinoSharp.Eval;

/// <summary>What one row of an <see cref="EmbeddingStore"/> describes.</summary>
/// <param name="Path">Image path or any description of the source.</param>
/// <param name="Label">Class index, or -1 when the row is unlabelled.</param>
/// <param name="Width">Original image width in pixels, or 0 when unknown.</param>
/// <param name="Height">Original image height in pixels, or 0 when unknown.</param>
public sealed record EmbeddingRow(string Path, long Label, int Width, int Height)
{
    /// <summary>The <see cref="Label"/> of a row without a class.</summary>
    public const long Unlabelled = -1;
}
