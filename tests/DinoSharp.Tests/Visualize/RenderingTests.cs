using DinoSharp.Data;
using DinoSharp.Visualize;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Visualize;

public sealed class RenderingTests
{
    static RgbImage Solid(int w, int h, byte r, byte g, byte b)
    {
        var pixels = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) (pixels[i * 3], pixels[i * 3 + 1], pixels[i * 3 + 2]) = (r, g, b);
        return new RgbImage(w, h, pixels);
    }

    static (byte, byte, byte) At(RgbImage im, int x, int y)
    {
        int i = (y * im.Width + x) * 3;
        return (im.Pixels[i], im.Pixels[i + 1], im.Pixels[i + 2]);
    }

    [Fact]
    public void Contact_sheet_places_query_then_neighbours_with_captions()
    {
        var options = new ContactSheetOptions { TileSize = 64, Padding = 4, FontSize = 12 };
        var query = Solid(40, 30, 255, 0, 0);
        var neighbours = new[]
        {
            new ContactSheetNeighbour(Solid(30, 30, 0, 255, 0), 0.987f, "cat"),
            new ContactSheetNeighbour(Solid(50, 20, 0, 0, 255), 0.5f),
        };
        var sheet = ContactSheet.Render(query, neighbours, options);
        int gap = 12, textHeight = (int)Math.Ceiling(12 * 1.4f);
        Assert.Equal(4 + 64 + gap + 2 * (64 + 4), sheet.Width);
        Assert.Equal(4 + 64 + 2 + textHeight + 4, sheet.Height);
        Assert.Equal((255, 0, 0), At(sheet, 4 + 32, 4 + 32));
        Assert.Equal((0, 255, 0), At(sheet, 4 + 64 + gap + 32, 4 + 32));
        Assert.Equal((0, 0, 255), At(sheet, 4 + 64 + gap + 68 + 32, 4 + 32));
        // Captions: some dark text pixels under the first neighbour.
        int dark = 0;
        for (int y = 4 + 64 + 2; y < sheet.Height; y++)
            for (int x = 4 + 64 + gap; x < 4 + 64 + gap + 64; x++)
                if (At(sheet, x, y).Item1 < 100) dark++;
        Assert.True(dark > 10, $"only {dark} text pixels");

        string path = Path.Combine(Path.GetTempPath(), $"dinosharp-sheet-{Guid.NewGuid():N}.png");
        try
        {
            ContactSheet.Save(path, query, neighbours, options);
            Assert.Equal(sheet.Pixels, Png.Load(path).Pixels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Attention_grid_has_one_tile_per_head_with_peaks_in_the_brightest_colour()
    {
        using var attention = torch.zeros(6, 4, 4);
        for (int h = 0; h < 6; h++) attention[h, h % 4, 0] = torch.tensor(1f);
        var options = new AttentionMapOptions { TileSize = 32, Padding = 2 };
        var grid = AttentionMapPainter.Render(attention, options);
        Assert.Equal((3 * 32 + 4 * 2, 2 * 32 + 3 * 2), (grid.Width, grid.Height));   // ⌈√6⌉ = 3 columns, 2 rows
        var brightest = Colormap.ViridisAt(1);
        var darkest = Colormap.ViridisAt(0);
        for (int h = 0; h < 6; h++)
        {
            int x0 = 2 + h % 3 * 34, y0 = 2 + h / 3 * 34;
            // Patch (row h % 4, column 0) spans tile pixels y ∈ [8·row, 8·row + 8); its centre holds the peak.
            int peakY = y0 + (h % 4) * 8 + 4;
            var (r, g, b) = At(grid, x0 + 3, peakY);
            Assert.True(Math.Abs(r - brightest.R) + Math.Abs(g - brightest.G) + Math.Abs(b - brightest.B) < 60, $"head {h}: ({r}, {g}, {b})");
            Assert.Equal(darkest, At(grid, x0 + 31, y0 + (h % 4 < 2 ? 31 : 0)));
        }
        Assert.Equal((255, 255, 255), At(grid, 0, 0));    // padding stays white
    }
}
