using System.Buffers.Binary;
using System.Text;
using DinoSharp.Data;
using DinoSharp.Interop;
using DinoSharp.Tests.Data;

namespace DinoSharp.Tests.Reliability;

/// <summary>Untrusted files: hostile pickles are refused by name, and sizes declared in headers are checked before allocating.</summary>
public sealed class SafeLoadingReliabilityTests : IDisposable
{
    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    string Pth(string name, byte[] pickle, IReadOnlyDictionary<string, byte[]>? storages = null) =>
        files.Write(name, PickleBytes.Zip(pickle, storages));

    /// <summary>Runs <paramref name="action"/> and returns the exception it threw and the managed bytes it allocated.</summary>
    static (Exception? Error, long Allocated) Measure(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try { action(); return (null, GC.GetAllocatedBytesForCurrentThread() - before); }
        catch (Exception e) { return (e, GC.GetAllocatedBytesForCurrentThread() - before); }
    }

    [Fact]
    public void APthThatWouldCallOsSystemIsRefusedNamingTheGlobalAndNothingRuns()
    {
        string marker = files.PathOf("pwned");
        var pickle = new PickleBytes().Global("os", "system").Mark().Str($"touch {marker}").Tuple().Reduce().Stop().ToArray();
        var e = Assert.Throws<CheckpointException>(() => TensorFile.Read(Pth("os_system.pth", pickle)));
        Assert.Contains("'os.system'", e.Message);
        Assert.Contains("not allowed in a weights-only checkpoint", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void AStackGlobalBuiltinsEvalInsideAStateDictIsRefused()
    {
        // {'w': <tensor>, 'x': builtins.eval('...')} with protocol-4 STACK_GLOBAL: the tensor before it is no excuse.
        var pickle = new PickleBytes().EmptyDict().Mark()
            .Str("w").FloatTensor("0", 2, 0, [2], [1])
            .Str("x").Raw(0x8c, 8).Raw(Encoding.ASCII.GetBytes("builtins")).Raw(0x8c, 4).Raw(Encoding.ASCII.GetBytes("eval")).Raw(0x93)
            .Mark().Str("__import__('os').system('true')").Tuple().Reduce()
            .SetItems().Stop().ToArray();
        var e = Assert.Throws<CheckpointException>(() => TensorFile.Read(Pth("eval.pth", pickle, new Dictionary<string, byte[]> { ["0"] = new byte[8] })));
        Assert.Contains("'builtins.eval'", e.Message);
    }

    [Fact]
    public void AHandWrittenWeightsOnlyPthLoads()
    {
        var pickle = new PickleBytes().EmptyDict().Mark().Str("w").FloatTensor("0", 6, 1, [2, 2], [1, 2]).SetItems().Stop().ToArray();
        var data = new byte[24];
        for (int i = 0; i < 6; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), i);
        var t = TensorFile.Read(Pth("ok.pth", pickle, new Dictionary<string, byte[]> { ["0"] = data }))["w"];
        Assert.Equal([2L, 2L], t.shape);
        Assert.Equal([1f, 3f, 2f, 4f], t.data<float>().ToArray());   // offset 1, strides (1, 2)
    }

    [Theory]
    [InlineData(1_000_000_000_000L, 0L, 2L, 1L, "claims 1,000,000,000,000 elements")]   // storage larger than its entry
    [InlineData(2L, 0L, 2L, 1_000_000_000L, "reaches element")]                          // a view outside its storage
    [InlineData(2L, 5L, 1L, 1L, "reaches element")]
    public void StorageAndViewSizesAreCheckedAgainstTheArchiveBeforeAllocating(long numel, long offset, long size, long stride, string message)
    {
        var pickle = new PickleBytes().EmptyDict().Mark().Str("w").FloatTensor("0", numel, offset, [size, 1], [stride, 1]).SetItems().Stop().ToArray();
        string path = Pth("big.pth", pickle, new Dictionary<string, byte[]> { ["0"] = new byte[8] });
        var (error, allocated) = Measure(() => TensorFile.Read(path));
        Assert.IsType<CheckpointException>(error);
        Assert.Contains(message, error!.Message);
        Assert.True(allocated < 4 << 20, $"{allocated:N0} bytes allocated");
    }

    [Fact]
    public void ADictThatContainsItselfIsRefusedWithoutRecursingForever()
    {
        // d = {}; d['self'] = d  (EMPTY_DICT, BINPUT 0, 'self', BINGET 0, SETITEM)
        var pickle = new PickleBytes().EmptyDict().Raw((byte)'q', 0).Str("self").Raw((byte)'h', 0).Op('s').Stop().ToArray();
        var e = Assert.Throws<CheckpointException>(() => TensorFile.Read(Pth("cycle.pth", pickle)));
        Assert.Contains("cyclically or too deeply", e.Message);
    }

    [Theory]
    [InlineData(1_000_000_000_000_000UL, false)]   // the 8-byte header length claims 10^15 bytes
    [InlineData(64UL, true)]                        // a valid header whose tensor claims bytes [0, 10^15)
    public void ASafetensorsHeaderClaimingAPetabyteIsRefusedWithoutAllocating(ulong headerLength, bool claimInOffsets)
    {
        string json = claimInOffsets
            ? """{"w":{"dtype":"F32","shape":[250000000000000],"data_offsets":[0,1000000000000000]}}"""
            : "{}";
        var header = Encoding.UTF8.GetBytes(json.PadRight(claimInOffsets ? (int)headerLength : 8));
        var bytes = new byte[8 + header.Length + 16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimInOffsets ? (ulong)header.Length : headerLength);
        header.CopyTo(bytes, 8);
        var (error, allocated) = Measure(() => SafetensorsFile.Load(new MemoryStream(bytes), "petabyte.safetensors", out _));
        Assert.IsType<InvalidDataException>(error);
        Assert.Contains(claimInOffsets ? "1000000000000000" : "claims 1000000000000000 bytes", error!.Message);
        Assert.True(allocated < 1 << 20, $"{allocated:N0} bytes allocated");
    }

    [Fact]
    public void ASafetensorsShapeWhoseProductOverflowsIsACleanError()
    {
        string json = """{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}""";
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(new MemoryStream(bytes), "overflow.safetensors", out _));
        Assert.Contains("truncated or corrupt", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnIdxHeaderDeclaringTwoGigabytesInATinyFileIsRefusedWithoutAllocatingThem(bool gzip)
    {
        string path = files.PathOf(gzip ? "huge.idx.gz" : "huge.idx");
        TestImages.WriteIdx(path, [2000, 1000, 1000], new byte[100], gzip);   // 2·10^9 bytes declared, 100 present
        var (error, allocated) = Measure(() => IdxDataset.Read(path, 3));
        Assert.IsType<InvalidDataException>(error);
        Assert.Contains("truncated", error!.Message);
        Assert.True(allocated < (gzip ? 4 << 20 : 1 << 20), $"{allocated:N0} bytes allocated");
    }

    [Fact]
    public void APngDeclaring100000x100000PixelsIsRefusedBeforeDecoding()
    {
        // A valid 1×1 PNG whose IHDR then claims 100,000 × 100,000 (10^10 pixels, 40 GB as RGBA); the CRC is fixed up.
        var png = TestImages.HandPng(1, 1, colorType: 0, bitDepth: 8, [0x80]);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 100_000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (error, allocated) = Measure(() => ImageDecoder.Decode(png, "bomb.png"));
        Assert.IsType<ImageDecodeException>(error);
        Assert.Contains("possible decompression bomb", error!.Message);
        Assert.True(allocated < 1 << 20, $"{allocated:N0} bytes allocated");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public void ASmallJpegDeclaringAPictureBelowTheBombLimitIsRefusedBeforeDecoding()
    {
        // A 40×30 JPEG whose frame header then claims 6000 × 4800 (28.8 Mpx: allowed, but its ~1 kB cannot hold it).
        var jpeg = TestImages.Encode(TestImages.Pattern(40, 30), SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        int sof = Enumerable.Range(0, jpeg.Length - 1).First(i => jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 4800);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 6000);
        var (error, allocated) = Measure(() => ImageDecoder.Decode(jpeg, "claims-6000x4800.jpg"));
        Assert.IsType<ImageDecodeException>(error);
        Assert.Contains("truncated", error!.Message);
        // libjpeg alone would fill the missing blocks with grey and succeed, allocating 115 MB of RGBA.
        Assert.True(allocated < 1 << 20, $"{allocated:N0} bytes allocated");
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
}
