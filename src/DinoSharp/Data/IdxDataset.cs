using System.Buffers.Binary;
using System.IO.Compression;

namespace DinoSharp.Data;

/// <summary>
/// Images (and optional labels) stored in the IDX format of MNIST / Fashion-MNIST, gzip-compressed or plain:
/// a big-endian header (magic 0x0000 | type | ndim, then ndim int32 sizes) followed by raw unsigned bytes.
/// Grey images are turned into RGB by repeating the channel. The whole file is held in memory (Fashion-MNIST's
/// training set is 47 MB).
/// </summary>
public sealed class IdxDataset : IImageDataset
{
    /// <summary>Default cap on the declared payload size: header sizes above it are refused before any allocation.</summary>
    public const long DefaultMaxBytes = 1L << 31;

    const byte UnsignedByteType = 0x08;

    readonly byte[] _pixels;
    readonly byte[]? _labels;

    public IdxDataset(string imagesPath, string? labelsPath = null, IReadOnlyList<string>? classNames = null,
        string? name = null, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
        Name = name ?? "idx:" + imagesPath + (labelsPath is null ? "" : "," + labelsPath);

        (int[] dims, _pixels) = Read(imagesPath, expectedRank: 3, maxBytes);
        (Count, Height, Width) = (dims[0], dims[1], dims[2]);
        if (Height == 0 || Width == 0)
            throw new InvalidDataException($"IDX file '{imagesPath}' declares empty images ({Height}×{Width}).");

        if (labelsPath is not null)
        {
            (int[] labelDims, byte[] labels) = Read(labelsPath, expectedRank: 1, maxBytes);
            if (labelDims[0] != Count)
                throw new InvalidDataException(
                    $"IDX labels '{labelsPath}' hold {labelDims[0]} labels but '{imagesPath}' holds {Count} images.");
            _labels = labels;
            if (classNames is not null && labels.Length > 0 && labels.Max() >= classNames.Count)
                throw new ArgumentException(
                    $"Label {labels.Max()} in '{labelsPath}' has no entry among {classNames.Count} class names.", nameof(classNames));
        }
        ClassNames = classNames;
    }

    public string ImagesPath { get; }
    public string? LabelsPath { get; }
    public string Name { get; }
    public int Count { get; }
    public int Width { get; }
    public int Height { get; }
    public IReadOnlyList<string>? ClassNames { get; }

    public RgbImage Load(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int n = Width * Height;
        var rgb = GC.AllocateUninitializedArray<byte>(n * 3);
        var src = _pixels.AsSpan(index * n, n);
        for (int i = 0; i < n; i++)
        {
            byte v = src[i];
            rgb[3 * i] = v;
            rgb[3 * i + 1] = v;
            rgb[3 * i + 2] = v;
        }
        return new RgbImage(Width, Height, rgb);
    }

    public int? Label(int index) => _labels is null ? null : _labels[index];

    public string Describe(int index) => "idx:#" + index;

    /// <summary>Reads an unsigned-byte IDX file of the given rank, validating the header before allocating the payload.</summary>
    public static (int[] Dims, byte[] Data) Read(string path, int expectedRank, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        using var file = File.OpenRead(path);
        Span<byte> sniff = stackalloc byte[2];
        int got = file.Read(sniff);
        file.Position = 0;
        // Detect gzip by its magic, not by the extension: the Debian package ships .gz, MNIST mirrors often plain files.
        bool gzip = got == 2 && sniff[0] == 0x1F && sniff[1] == 0x8B;
        using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            // A plain file's payload can be checked against its length before allocating; a gzip one cannot.
            return Read(stream, path, expectedRank, maxBytes, gzip ? null : file.Length);
        }
        catch (InvalidDataException e) when (!e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"IDX file '{path}': {e.Message}", e);
        }
    }

    static (int[] Dims, byte[] Data) Read(Stream stream, string path, int expectedRank, long maxBytes, long? fileLength)
    {
        maxBytes = Math.Min(maxBytes, Array.MaxLength);
        Span<byte> magic = stackalloc byte[4];
        if (ReadFully(stream, magic) < 4)
            throw new InvalidDataException($"IDX file '{path}' is too short for a header.");
        if (magic[0] != 0 || magic[1] != 0)
            throw new InvalidDataException($"'{path}' is not an IDX file (magic {Convert.ToHexString(magic)}).");
        if (magic[2] != UnsignedByteType)
            throw new InvalidDataException($"IDX file '{path}' has element type 0x{magic[2]:X2}; only unsigned bytes (0x08) are supported.");
        if (magic[3] != expectedRank)
            throw new InvalidDataException($"IDX file '{path}' has {magic[3]} dimensions, expected {expectedRank}.");

        var dims = new int[expectedRank];
        Span<byte> dimBytes = stackalloc byte[4 * expectedRank];
        if (ReadFully(stream, dimBytes) < dimBytes.Length)
            throw new InvalidDataException($"IDX file '{path}' is truncated inside its header.");
        long total = 1;
        for (int i = 0; i < expectedRank; i++)
        {
            int d = BinaryPrimitives.ReadInt32BigEndian(dimBytes[(4 * i)..]);
            if (d < 0)
                throw new InvalidDataException($"IDX file '{path}' declares a negative size {d} in dimension {i}.");
            dims[i] = d;
            // Multiply one dimension at a time so even a product of three int.MaxValue values cannot overflow a long.
            total *= d;
            if (total > maxBytes)
                throw new InvalidDataException(
                    $"IDX file '{path}' declares sizes {string.Join('×', DeclaredSizes(dimBytes, expectedRank))} " +
                    $"(more than {maxBytes:N0} bytes); refusing to allocate.");
        }

        long headerBytes = 4 + 4L * expectedRank;
        if (fileLength is { } length && length - headerBytes < total)
            throw new InvalidDataException($"IDX file '{path}' is truncated: the header declares {total:N0} bytes of data, the file holds {length - headerBytes:N0}.");
        return (dims, ReadPayload(stream, path, (int)total));
    }

    /// <summary>
    /// Reads the declared payload into a buffer that grows with the data actually read, so a small gzip file whose
    /// header declares gigabytes fails as truncated without first allocating them.
    /// </summary>
    static byte[] ReadPayload(Stream stream, string path, int total)
    {
        var data = GC.AllocateUninitializedArray<byte>(Math.Min(total, 1 << 20));
        int filled = 0;
        while (true)
        {
            filled += ReadFully(stream, data.AsSpan(filled));
            if (filled == total) return data;
            if (filled < data.Length)
                throw new InvalidDataException($"IDX file '{path}' is truncated: the header declares {total:N0} bytes of data, it holds {filled:N0}.");
            Array.Resize(ref data, (int)Math.Min(total, 2L * data.Length));
        }
    }

    static IEnumerable<long> DeclaredSizes(ReadOnlySpan<byte> bytes, int rank)
    {
        var r = new long[rank];
        for (int i = 0; i < rank; i++) r[i] = BinaryPrimitives.ReadInt32BigEndian(bytes[(4 * i)..]);
        return r;
    }

    static int ReadFully(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
