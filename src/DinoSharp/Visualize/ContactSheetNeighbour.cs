using DinoSharp.Data;

namespace DinoSharp.Visualize;

/// <summary>One retrieved image on a contact sheet: the image, its similarity to the query and an optional caption (e.g. its class).</summary>
public sealed record ContactSheetNeighbour(RgbImage Image, float Score, string? Caption = null);
