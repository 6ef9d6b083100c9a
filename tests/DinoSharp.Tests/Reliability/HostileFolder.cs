using System.Buffers.Binary;
using DinoSharp.Tests.Data;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// A labelled image folder (classes a/ and b/, 8 readable PNGs each) with one file of every kind the guarded decoder
/// refuses: a 60000×60000 decompression-bomb PNG, a truncated PNG, random bytes named .jpg, an empty file and a text
/// file named .png. The hostile files sort first in a/, so image 0 of the dataset is the bomb.
/// </summary>
public sealed class HostileFolder : IDisposable
{
    public HostileFolder()
    {
        for (int i = 0; i < 8; i++)
        {
            Files.Write($"a/img{i}.png", TestImages.Png(TestImages.Pattern(32 + i, 30, seed: 100 + i)));
            Files.Write($"b/img{i}.png", TestImages.Png(TestImages.Pattern(30, 32 + i, seed: 200 + i)));
        }
        var good = TestImages.Png(TestImages.Pattern(40, 40, seed: 5));
        Hostile.Add(Files.Write("a/0bomb.png", Bomb(60_000, 60_000)));
        Hostile.Add(Files.Write("a/0truncated.png", good[..(good.Length / 2)]));
        Hostile.Add(Files.Write("a/0corrupt.jpg", RandomBytes(2000, seed: 3)));
        Hostile.Add(Files.Write("a/0empty.png", []));
        Hostile.Add(Files.Write("a/0text.png", "this is not an image\n"u8.ToArray()));
    }

    public TestImages Files { get; } = new();

    /// <summary>Where the tests write (outside the dataset, which must not grow).</summary>
    public TestImages Output { get; } = new();

    /// <summary>The root folder.</summary>
    public string Root => Files.Folder;

    /// <summary>The absolute paths of the unreadable files.</summary>
    public List<string> Hostile { get; } = [];

    /// <summary>Readable images.</summary>
    public const int Readable = 16;

    /// <summary>A valid 1×1 grey PNG whose IHDR then claims <paramref name="width"/> × <paramref name="height"/> (CRC fixed up).</summary>
    public static byte[] Bomb(int width, int height)
    {
        var png = TestImages.HandPng(1, 1, colorType: 0, bitDepth: 8, [0x80]);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    static byte[] RandomBytes(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Asserts the one rule in <paramref name="stderr"/>: one warning per hostile file naming it (no more), and the
    /// count of skipped images.
    /// </summary>
    public void AssertSkippedOnceEach(string stderr, string verb)
    {
        var lines = stderr.Split('\n');
        foreach (var file in Hostile)
        {
            int warnings = lines.Count(l => l.StartsWith("warning: skipping unreadable image: ", StringComparison.Ordinal) && l.Contains($"'{file}'", StringComparison.Ordinal));
            Assert.True(warnings == 1, $"{verb}: {warnings} warnings name {file} (expected 1). stderr:\n{stderr}");
        }
        Assert.True(stderr.Contains($"{Hostile.Count} unreadable image(s)", StringComparison.Ordinal), $"{verb}: no count of {Hostile.Count} unreadable images. stderr:\n{stderr}");
        ReliabilityFigures.Fault("UnreadableImageReliabilityTests", "unreadable images: " + verb, Hostile.Count, 0, 0,
            "bomb, truncated, corrupt, empty, not an image: each skipped with one warning, counted");
    }

    public void Dispose()
    {
        Files.Dispose();
        Output.Dispose();
    }
}
