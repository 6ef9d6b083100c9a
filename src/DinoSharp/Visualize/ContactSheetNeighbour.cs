using DinoSharp.Data;

namespace DinoSharp.Visualize;

/// <summary>One retrieved image on a contact sheet: the image, its similarity to the query and an optional caption (e.g. its class).</summary>
/// <param name="Image">The neighbour's decoded image.</param>
/// <param name="Score">Similarity to the query, printed under the image with three decimals.</param>
/// <param name="Caption">Text printed after the score (e.g. the class), or null.</param>
public sealed record ContactSheetNeighbour(RgbImage Image, float Score, string? Caption = null);
