namespace DinoSharp.Data;

/// <summary>A crop rectangle in source pixels: rows [Top, Top+Height), columns [Left, Left+Width).</summary>
public readonly record struct CropBox(int Top, int Left, int Height, int Width);
