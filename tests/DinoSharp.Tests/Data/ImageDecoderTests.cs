using DinoSharp.Data;
using SkiaSharp;

namespace DinoSharp.Tests.Data;

public sealed class ImageDecoderTests
{
    [Fact]
    public void Png_round_trips_exactly()
    {
        var img = TestImages.Pattern(37, 21);
        var decoded = ImageDecoder.Decode(TestImages.Png(img), "pattern.png");
        Assert.Equal(37, decoded.Width);
        Assert.Equal(21, decoded.Height);
        Assert.Equal(img.Pixels, decoded.Pixels);
    }

    [Fact]
    public void Lossless_webp_round_trips_exactly()
    {
        var img = TestImages.Pattern(16, 9);
        var webp = TestImages.Encode(img, SKEncodedImageFormat.Webp, quality: 100);
        Assert.Equal(img.Pixels, ImageDecoder.Decode(webp, "p.webp").Pixels);
    }

    [Fact]
    public void Alpha_is_dropped_not_premultiplied()
    {
        byte[] rgba = [200, 100, 50, 255, 200, 100, 50, 64];
        var decoded = ImageDecoder.Decode(TestImages.Encode(2, 1, rgba, SKEncodedImageFormat.Png), "a.png");
        Assert.Equal(new byte[] { 200, 100, 50 }, decoded.Pixels[..3]);
        // Unpremultiplied decode: the translucent pixel keeps its colour (within a rounding step).
        Assert.InRange(decoded.Pixels[3], 198, 202);
        Assert.InRange(decoded.Pixels[4], 98, 102);
        Assert.InRange(decoded.Pixels[5], 48, 52);
    }

    [Fact]
    public void Palette_grey_alpha_and_16_bit_pngs_become_8_bit_rgb()
    {
        byte[] palette = [255, 0, 0, 0, 0, 255];
        var pal = ImageDecoder.Decode(TestImages.HandPng(2, 1, colorType: 3, bitDepth: 8, [1, 0], palette), "pal.png");
        Assert.Equal(new byte[] { 0, 0, 255, 255, 0, 0 }, pal.Pixels);

        var greyAlpha = ImageDecoder.Decode(TestImages.HandPng(1, 1, colorType: 4, bitDepth: 8, [90, 255]), "ga.png");
        Assert.Equal(new byte[] { 90, 90, 90 }, greyAlpha.Pixels);

        // 0xABAB is 171 exactly in 8 bits whether the decoder takes the high byte or rounds v·255/65535.
        var rgb16 = ImageDecoder.Decode(
            TestImages.HandPng(1, 1, colorType: 2, bitDepth: 16, [0xAB, 0xAB, 0x00, 0x00, 0xFF, 0xFF]), "rgb16.png");
        Assert.Equal(new byte[] { 171, 0, 255 }, rgb16.Pixels);

        var grey16 = ImageDecoder.Decode(TestImages.HandPng(1, 1, colorType: 0, bitDepth: 16, [0x40, 0x40]), "g16.png");
        Assert.Equal(new byte[] { 64, 64, 64 }, grey16.Pixels);
    }

    [Fact]
    public void Gif_first_frame_is_decoded()
    {
        var gif = ImageDecoder.Decode(TestImages.RedPixelGif, "red.gif");
        Assert.Equal(new byte[] { 255, 0, 0 }, gif.Pixels);
    }

    [Theory]
    [InlineData(1, 32, 16, false)] // upright
    [InlineData(6, 16, 32, true)]  // rotate 90° clockwise: the left (red) half becomes the top
    [InlineData(8, 16, 32, false)] // rotate 90° counter-clockwise: the left half becomes the bottom
    [InlineData(3, 32, 16, false)] // 180°: red ends up on the right
    public void Exif_orientation_is_applied(ushort orientation, int width, int height, bool redOnTop)
    {
        // 32×16, left half red, right half blue.
        var rgba = new byte[32 * 16 * 4];
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 32; x++)
            {
                int i = (y * 32 + x) * 4;
                rgba[i] = (byte)(x < 16 ? 255 : 0);
                rgba[i + 2] = (byte)(x < 16 ? 0 : 255);
                rgba[i + 3] = 255;
            }
        byte[] jpeg = TestImages.WithExifOrientation(TestImages.Encode(32, 16, rgba, SKEncodedImageFormat.Jpeg), orientation);
        var img = ImageDecoder.Decode(jpeg, "exif.jpg");
        Assert.Equal((width, height), (img.Width, img.Height));

        bool IsRed(int x, int y) => img.Pixels[(y * img.Width + x) * 3] > 200 && img.Pixels[(y * img.Width + x) * 3 + 2] < 60;
        switch (orientation)
        {
            case 1: Assert.True(IsRed(4, 8)); Assert.False(IsRed(28, 8)); break;
            case 3: Assert.False(IsRed(4, 8)); Assert.True(IsRed(28, 8)); break;
            default:
                Assert.Equal(redOnTop, IsRed(8, 4));
                Assert.Equal(!redOnTop, IsRed(8, 28));
                break;
        }
    }

    [Fact]
    public void Bad_inputs_throw_ImageDecodeException_naming_the_file()
    {
        using var t = new TestImages();
        byte[] png = TestImages.Png(TestImages.Pattern(64, 64));
        string truncated = t.Write("truncated.png", png[..(png.Length / 2)]);
        string empty = t.Write("empty.jpg", []);
        string text = t.Write("notes.jpg", "this is not an image"u8.ToArray());
        string corrupt = t.Write("corrupt.jpg", [0xFF, 0xD8, 0xFF, .. Enumerable.Range(0, 300).Select(i => (byte)(i * 37))]);
        string missing = Path.Combine(t.Folder, "missing.png");
        string directory = t.PathOf("folder.jpg");
        Directory.CreateDirectory(directory);

        foreach (string f in new[] { truncated, empty, text, corrupt, missing, directory })
        {
            var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(f));
            Assert.Contains(f, e.Message);
            Assert.Equal(f, e.File);
        }
    }

    [Fact]
    public void Declared_size_above_the_limit_is_refused_before_decoding()
    {
        byte[] png = TestImages.Png(TestImages.Pattern(100, 60));
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, "big.png", maxPixels: 5_999));
        Assert.Contains("big.png", e.Message);
        Assert.Contains("exceeds", e.Message);
        Assert.Equal(100, ImageDecoder.Decode(png, "big.png", maxPixels: 6_000).Width);
    }
}
