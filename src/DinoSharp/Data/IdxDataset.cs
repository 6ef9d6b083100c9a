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

    /// <summary>Reads the whole image file (and label file) into memory, validating each header before allocating its payload.</summary>
    /// <param name="imagesPath">A rank-3 unsigned-byte IDX file [count, height, width], gzip or plain.</param>
    /// <param name="labelsPath">A rank-1 unsigned-byte IDX file with one label per image, or null for an unlabelled dataset.</param>
    /// <param name="classNames">Names indexed by label; every label must have one.</param>
    /// <param name="name">The <see cref="Name"/>; null gives "idx:&lt;images&gt;[,&lt;labels&gt;]".</param>
    /// <param name="maxBytes">Refuse files whose header declares a payload larger than this (<see cref="DefaultMaxBytes"/>).</param>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">A header is malformed, declares too much data or empty images, the file is truncated, or the label count differs from the image count.</exception>
    /// <exception cref="ArgumentException">A label has no entry in <paramref name="classNames"/>.</exception>
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

    /// <summary>The image file as given.</summary>
    public string ImagesPath { get; }
    /// <summary>The label file as given, or null when unlabelled.</summary>
    public string? LabelsPath { get; }
    /// <inheritdoc/>
    public string Name { get; }
    /// <summary>Number of images declared by the header.</summary>
    public int Count { get; }
    /// <summary>Image width in pixels (the third header dimension).</summary>
    public int Width { get; }
    /// <summary>Image height in pixels (the second header dimension).</summary>
    public int Height { get; }
    /// <summary>The class names given to the constructor, or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Image <paramref name="index"/> as RGB (the grey value repeated in the three channels).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Count"/>).</exception>
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

    /// <summary>The label byte of image <paramref name="index"/>, or null without a label file.</summary>
    public int? Label(int index) => _labels is null ? null : _labels[index];

    /// <summary>"idx:#" followed by the index (the file path is in <see cref="Name"/>).</summary>
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
