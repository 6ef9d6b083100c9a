using System.Runtime.InteropServices;
using SkiaSharp;

namespace DinoSharp.Data;

/// <summary>
/// Decodes JPEG, PNG, WebP, BMP and GIF (first frame) files to 8-bit RGB with SkiaSharp. Whatever the stored format
/// (grey, grey+alpha, palette, CMYK, 16-bit), pixels are decoded to unpremultiplied RGBA8888 and the alpha channel is
/// simply dropped, which is what PIL's <c>convert("RGB")</c> (used by the reference data loader) does. The EXIF
/// orientation is applied so the image is upright as a viewer shows it (the reference loader does not do this; photos
/// from phones would otherwise train sideways).
/// </summary>
public static class ImageDecoder
{
    /// <summary>PIL's decompression-bomb limit (2 × 89,478,485 pixels): larger declared sizes are refused before decoding.</summary>
    public const long DefaultMaxPixels = 178_956_970;

    /// <summary>Reads and decodes <paramref name="path"/>; any failure becomes an <see cref="ImageDecodeException"/> naming it.</summary>
    public static RgbImage Decode(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            // No encoded image of at most maxPixels pixels needs more than ~8 bytes a pixel (16-bit RGBA PNG, stored).
            long limit = Math.Min(Array.MaxLength, maxPixels * 8 + (1 << 20));
            if (new FileInfo(path) is { Exists: true } info && info.Length > limit)
                throw new ImageDecodeException(path, $"the file has {info.Length:N0} bytes, more than an image of at most {maxPixels:N0} pixels needs ({limit:N0}).");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ImageDecodeException(path, "the file cannot be read (" + e.Message + ")", e);
        }
        return Decode(bytes, path, maxPixels);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="name"/> is only used in error messages.</summary>
    public static RgbImage Decode(byte[] bytes, string name, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        if (bytes.Length == 0)
            throw new ImageDecodeException(name, "the file is empty (0 bytes).");

        // The codec takes ownership of the stream (SKMemoryStream copies the bytes into native memory).
        using var codec = SKCodec.Create(new SKMemoryStream(bytes), out SKCodecResult created);
        if (codec is null)
            throw new ImageDecodeException(name, $"not a recognised image format ({created}).");

        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0)
            throw new ImageDecodeException(name, $"invalid image size {width}×{height}.");
        // Checked before any pixel buffer exists: a 100-byte PNG can declare 100k × 100k pixels.
        if ((long)width * height > maxPixels || (long)width * height * 4 > Array.MaxLength)
            throw new ImageDecodeException(name, $"{width}×{height} = {(long)width * height:N0} pixels exceeds the limit of {maxPixels:N0} (possible decompression bomb).");

        if (codec.EncodedFormat == SKEncodedImageFormat.Jpeg && MinimumJpegBytes(bytes) is long needed && bytes.Length < needed)
            throw new ImageDecodeException(name, $"the JPEG header declares {width}×{height} pixels, which need at least {needed:N0} bytes of data, but the file has {bytes.Length:N0}: it is truncated or corrupt.");

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        byte[] rgba = GC.AllocateUninitializedArray<byte>(checked(width * height * 4));
        SKCodecResult result;
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            // Frame 0 of an animated GIF/WebP is what a still-image loader sees (PIL opens the first frame too).
            result = codec.GetPixels(info, handle.AddrOfPinnedObject(), new SKCodecOptions(0));
        }
        finally
        {
            handle.Free();
        }
        // IncompleteInput is a truncated file: Skia fills the rest with zeros, which would silently train on garbage.
        if (result != SKCodecResult.Success)
            throw new ImageDecodeException(name, result == SKCodecResult.IncompleteInput
                ? "the file is truncated."
                : $"decoding failed ({result}).");

        return ToOrientedRgb(rgba, width, height, codec.EncodedOrigin);
    }

    /// <summary>
    /// The fewest bytes a Huffman-coded JPEG with the frame header found in <paramref name="jpeg"/> can have: every 8×8
    /// block of every component carries its own DC code, and a Huffman code is at least one bit long. libjpeg decodes a
    /// file whose data runs out early by filling the missing blocks with grey and reports success, so without this a
    /// 1 kB file declaring 6000 × 4800 pixels would decode (and allocate) as a grey 86 MB picture. Null when no
    /// Huffman-coded frame header is found (arithmetic coding has no such bound).
    /// </summary>
    static long? MinimumJpegBytes(byte[] jpeg)
    {
        for (int i = 2; i + 4 <= jpeg.Length;)
        {
            if (jpeg[i] != 0xFF)
                return null;
            byte marker = jpeg[i + 1];
            if (marker == 0xFF) { i++; continue; }
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8)) { i += 2; continue; }
            int length = jpeg[i + 2] << 8 | jpeg[i + 3];
            if (marker is >= 0xC0 and <= 0xC3)   // baseline, extended, progressive, lossless: all Huffman-coded
            {
                int at = i + 4;
                if (at + 6 > jpeg.Length) return null;
                int height = jpeg[at + 1] << 8 | jpeg[at + 2], width = jpeg[at + 3] << 8 | jpeg[at + 4], components = jpeg[at + 5];
                if (at + 6 + 3 * components > jpeg.Length || components == 0) return null;
                int hMax = 1, vMax = 1;
                for (int c = 0; c < components; c++)
                {
                    hMax = Math.Max(hMax, jpeg[at + 7 + 3 * c] >> 4);
                    vMax = Math.Max(vMax, jpeg[at + 7 + 3 * c] & 15);
                }
                long blocks = 0;
                for (int c = 0; c < components; c++)
                {
                    int h = Math.Max(1, jpeg[at + 7 + 3 * c] >> 4), v = Math.Max(1, jpeg[at + 7 + 3 * c] & 15);
                    long cw = ((long)width * h + hMax - 1) / hMax, ch = ((long)height * v + vMax - 1) / vMax;
                    blocks += (cw + 7) / 8 * ((ch + 7) / 8);
                }
                return blocks / 8;
            }
            if (marker is >= 0xC5 and <= 0xCF and not 0xC8 and not 0xCC || marker == 0xDA)
                return null;   // hierarchical or arithmetic frame, or scan data before any frame header
            i += 2 + length;
        }
        return null;
    }

    /// <summary>Drops alpha and applies the EXIF orientation: output pixel (x, y) is read from source (sx, sy).</summary>
    static RgbImage ToOrientedRgb(byte[] rgba, int w, int h, SKEncodedOrigin origin)
    {
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
            or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int ow = swap ? h : w, oh = swap ? w : h;
        var rgb = GC.AllocateUninitializedArray<byte>(ow * oh * 3);
        if (origin is SKEncodedOrigin.TopLeft or SKEncodedOrigin.Default)
        {
            for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
            {
                rgb[i] = rgba[j];
                rgb[i + 1] = rgba[j + 1];
                rgb[i + 2] = rgba[j + 2];
            }
            return new RgbImage(ow, oh, rgb);
        }

        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                (int sx, int sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),               // 2: mirrored horizontally
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),    // 3: rotated 180°
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),             // 4: mirrored vertically
                    SKEncodedOrigin.LeftTop => (y, x),                        // 5: transposed
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),               // 6: needs 90° clockwise
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),    // 7: transverse
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),             // 8: needs 90° counter-clockwise
                    _ => (x, y),
                };
                int s = (sy * w + sx) * 4, d = (y * ow + x) * 3;
                rgb[d] = rgba[s];
                rgb[d + 1] = rgba[s + 1];
                rgb[d + 2] = rgba[s + 2];
            }
        }
        return new RgbImage(ow, oh, rgb);
    }
}
