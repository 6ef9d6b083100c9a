using DinoSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Visualize;

/// <summary>
/// Heat maps of attention, one tile per head in a grid (as in the DINO paper's figures): each head's [h, w] map is
/// min-max scaled on its own (heads differ in sharpness, a shared scale would wash most of them out), coloured with
/// viridis and optionally laid over the input image.
/// </summary>
public static class AttentionMapPainter
{
    /// <summary>Paints one tile per head, left to right and top to bottom.</summary>
    /// <exception cref="ArgumentException"><paramref name="attention"/> is not a non-empty [heads, h, w] tensor.</exception>
    /// <param name="attention">[heads, h, w] attention of one image (e.g. the class token's attention to the patches, per head).</param>
    /// <param name="options">Tile size, columns, background.</param>
    public static RgbImage Render(Tensor attention, AttentionMapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(attention);
        if (attention.dim() != 3 || attention.numel() == 0)
            throw new ArgumentException($"Expected attention [heads, h, w], got [{string.Join(", ", attention.shape)}].", nameof(attention));
        options ??= new AttentionMapOptions();
        if (options.TileSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"AttentionMapOptions.TileSize must be positive, got {options.TileSize}.");
        if (options.Columns < 0) throw new ArgumentOutOfRangeException(nameof(options), $"AttentionMapOptions.Columns must be ≥ 0, got {options.Columns}.");
        if (options.Padding < 0) throw new ArgumentOutOfRangeException(nameof(options), $"AttentionMapOptions.Padding must be ≥ 0, got {options.Padding}.");
        if (options.Opacity is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(options), $"AttentionMapOptions.Opacity must be in [0, 1], got {options.Opacity}.");

        int heads = (int)attention.shape[0], tile = options.TileSize, pad = options.Padding;
        int columns = options.Columns > 0 ? options.Columns : (int)Math.Ceiling(Math.Sqrt(heads));
        int rows = (heads + columns - 1) / columns;
        int width = columns * tile + (columns + 1) * pad, height = rows * tile + (rows + 1) * pad;

        float[] maps;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var a = attention.to(ScalarType.Float32).unsqueeze(1);                              // [heads, 1, h, w]
            var up = nn.functional.interpolate(a, [tile, tile], mode: InterpolationMode.Bilinear, align_corners: false).squeeze(1);
            var min = up.amin([1, 2], keepdim: true);
            var range = up.amax([1, 2], keepdim: true) - min;
            var scaled = (up - min) / torch.where(range > 0, range, torch.ones_like(range));    // [heads, tile, tile]
            using var cpu = scaled.contiguous().cpu();
            maps = cpu.data<float>().ToArray();
        }

        var background = options.Background is null ? null : Png.Resize(options.Background, tile, tile, smooth: true).Pixels;
        double alpha = background is null ? 1 : options.Opacity;
        var pixels = new byte[width * height * 3];
        Array.Fill(pixels, (byte)255);
        for (int head = 0; head < heads; head++)
        {
            int x0 = pad + head % columns * (tile + pad), y0 = pad + head / columns * (tile + pad);
            for (int y = 0; y < tile; y++)
                for (int x = 0; x < tile; x++)
                {
                    var (r, g, b) = Colormap.ViridisAt(maps[(head * tile + y) * tile + x]);
                    int d = ((y0 + y) * width + x0 + x) * 3, s = (y * tile + x) * 3;
                    pixels[d] = Blend(r, background?[s], alpha);
                    pixels[d + 1] = Blend(g, background?[s + 1], alpha);
                    pixels[d + 2] = Blend(b, background?[s + 2], alpha);
                }
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Renders the grid and writes it as PNG.</summary>
    public static void Save(Tensor attention, string path, AttentionMapOptions? options = null) =>
        Png.Save(Render(attention, options), path);

    static byte Blend(byte heat, byte? under, double alpha) =>
        under is byte u ? (byte)Math.Round(alpha * heat + (1 - alpha) * u) : heat;
}
