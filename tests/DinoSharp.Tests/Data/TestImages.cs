using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using DinoSharp.Data;
using SkiaSharp;

namespace DinoSharp.Tests.Data;

/// <summary>Builds small test images and files (encoded with SkiaSharp, or written byte by byte) in a temp folder.</summary>
public sealed class TestImages : IDisposable
{
    public TestImages()
    {
        Folder = Path.Combine(Path.GetTempPath(), "dinosharp-data-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public string PathOf(string relative)
    {
        string p = Path.Combine(Folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        return p;
    }

    public string Write(string relative, byte[] bytes)
    {
        string p = PathOf(relative);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }

    /// <summary>A deterministic colourful RGB image (gradients plus a seeded pattern).</summary>
    public static RgbImage Pattern(int width, int height, int seed = 1)
    {
        var rng = new Random(seed);
        var px = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                px[i] = (byte)(255 * x / Math.Max(1, width - 1));
                px[i + 1] = (byte)(255 * y / Math.Max(1, height - 1));
                px[i + 2] = (byte)rng.Next(256);
            }
        return new RgbImage(width, height, px);
    }

    /// <summary>Encodes RGBA pixels with Skia (PNG, JPEG or WebP).</summary>
    public static byte[] Encode(int width, int height, byte[] rgba, SKEncodedImageFormat format, int quality = 95)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bmp = new SKBitmap(info);
        Marshal.Copy(rgba, 0, bmp.GetPixels(), rgba.Length);
        using var data = bmp.Encode(format, quality);
        return data.ToArray();
    }

    public static byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality = 95)
    {
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, j = 0; i < image.Pixels.Length; i += 3, j += 4)
        {
            rgba[j] = image.Pixels[i];
            rgba[j + 1] = image.Pixels[i + 1];
            rgba[j + 2] = image.Pixels[i + 2];
            rgba[j + 3] = 255;
        }
        return Encode(image.Width, image.Height, rgba, format, quality);
    }

    public static byte[] Png(RgbImage image) => Encode(image, SKEncodedImageFormat.Png);

    /// <summary>Inserts an EXIF APP1 segment holding only an Orientation tag right after a JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0x00, 0x2A, 0, 0, 0, 8, // big-endian TIFF header, IFD at offset 8
            0x00, 0x01,                                  // one entry
            0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1,          // tag 0x0112 Orientation, SHORT, count 1
            (byte)(orientation >> 8), (byte)orientation, 0, 0,
            0, 0, 0, 0,                                  // no next IFD
        ];
        byte[] exif = [.. Encoding.ASCII.GetBytes("Exif"), 0, 0, .. tiff];
        int len = exif.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(len >> 8), (byte)len, .. exif];
        return [.. jpeg[..2], .. app1, .. jpeg[2..]];
    }

    /// <summary>A PNG written by hand (unfiltered scanlines), for formats Skia does not encode: palette, 16-bit, grey+alpha.</summary>
    public static byte[] HandPng(int width, int height, byte colorType, byte bitDepth, byte[] scanlines, byte[]? palette = null)
    {
        int rowBytes = scanlines.Length / height;
        using var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            raw.Write(scanlines, y * rowBytes, rowBytes);
        }
        using var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true))
            zs.Write(raw.ToArray());

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        Chunk(png, "IHDR", ihdr);
        if (palette is not null) Chunk(png, "PLTE", palette);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        byte[] body = [.. Encoding.ASCII.GetBytes(type), .. data];
        s.Write(body);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
        s.Write(crc);
    }

    static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    /// <summary>A 1×1 GIF whose only pixel is palette entry 0 = pure red (LZW: clear, 0, end).</summary>
    public static readonly byte[] RedPixelGif =
    [
        .. Encoding.ASCII.GetBytes("GIF89a"), 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
        0xFF, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
        0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ];

    /// <summary>Writes an IDX file (gzip or plain) with an unsigned-byte payload and the given sizes.</summary>
    public static void WriteIdx(string path, int[] dims, byte[] data, bool gzip)
    {
        using var file = File.Create(path);
        using Stream s = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        s.Write([0, 0, 0x08, (byte)dims.Length]);
        var b = new byte[4];
        foreach (int d in dims)
        {
            BinaryPrimitives.WriteInt32BigEndian(b, d);
            s.Write(b);
        }
        s.Write(data);
    }

    /// <summary>A small Fashion-MNIST-like IDX pair: n random 28×28 grey images with labels i % 10.</summary>
    public (string Images, string Labels) FakeFashion(int n, string prefix = "train", bool gzip = true, int seed = 7)
    {
        var rng = new Random(seed);
        var pixels = new byte[n * 28 * 28];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        string images = PathOf(prefix + "-images-idx3-ubyte" + (gzip ? ".gz" : ""));
        string labelFile = PathOf(prefix + "-labels-idx1-ubyte" + (gzip ? ".gz" : ""));
        WriteIdx(images, [n, 28, 28], pixels, gzip);
        WriteIdx(labelFile, [n], labels, gzip);
        return (images, labelFile);
    }
}
