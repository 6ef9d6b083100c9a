namespace DinoSharp.Visualize;

/// <summary>Settings of the patch-feature PCA visualisation (after the DINOv2 demo notebook).</summary>
public sealed record PatchPcaOptions
{
    /// <summary>
    /// Foreground threshold on the first component after min-max scaling to [0, 1]; null (default) keeps every patch.
    /// The DINOv2 demo uses 0.35. Which side is foreground depends on the data, hence <see cref="ForegroundAbove"/>.
    /// </summary>
    public double? ForegroundThreshold { get; init; }

    /// <summary>Foreground is PC1 &gt; threshold (true, as in the DINOv2 demo) or PC1 &lt; threshold (false).</summary>
    public bool ForegroundAbove { get; init; } = true;

    /// <summary>
    /// Fit a second PCA on foreground patches only and colour them with it (the DINOv2 demo's second pass); needs
    /// <see cref="ForegroundThreshold"/>. Otherwise foreground patches keep their first-pass colours.
    /// </summary>
    public bool RefitOnForeground { get; init; }
}
