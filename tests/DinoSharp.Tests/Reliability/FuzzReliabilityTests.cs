using System.Buffers.Binary;
using System.Collections.Specialized;
using System.Diagnostics;
using System.IO.Compression;
using DinoSharp.Data;
using DinoSharp.Interop;
using DinoSharp.Tests.Data;
using DinoSharp.Tests.Fixtures;
using SkiaSharp;
using TorchSharp;
using Xunit.Abstractions;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// Seeded fuzzing of every reader of untrusted files with mutated real inputs (bit flips, truncations, length-field
/// edits, byte insertions and deletions): each input must decode or fail with the reader's documented exception,
/// within a time limit and a bounded managed allocation. Every format gets a fixed number of inputs from its own seed,
/// so CI tries the same inputs however loaded the machine is; <c>DINOSHARP_FUZZ_INPUTS</c> runs more by hand. The
/// count and the slowest input's cost per format go to the reliability figures.
/// </summary>
[Trait("Category", "Parity")]   // needs the reference fixtures (tests/fixtures)
public sealed class FuzzReliabilityTests(ITestOutputHelper output) : IDisposable
{
    const int Seed = 20240601;
    /// <summary>Inputs per format in the suite; set <c>DINOSHARP_FUZZ_INPUTS</c> to fuzz more by hand.</summary>
    public static readonly int InputsPerFormat =
        int.TryParse(Environment.GetEnvironmentVariable("DINOSHARP_FUZZ_INPUTS"), System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 2000;
    static readonly TimeSpan PerInputLimit = TimeSpan.FromSeconds(5);

    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    [Fact]
    public void MutatedJpegPngIdxSafetensorsAndPthFilesFailOnlyWithTheirDocumentedExceptions()
    {
        var rng = new Random(Seed);
        var image = TestImages.Pattern(40, 30);
        byte[] jpeg = TestImages.Encode(image, SKEncodedImageFormat.Jpeg, 90), png = TestImages.Png(image);
        string tmp = files.PathOf("input");

        Fuzz("jpeg", rng, jpeg, [], bytes => ImageDecoder.Decode(bytes, "fuzz.jpg"), typeof(ImageDecodeException));
        Fuzz("png", rng, png, [8, 16, 20, 33], bytes => ImageDecoder.Decode(bytes, "fuzz.png"), typeof(ImageDecodeException));

        var idx = new byte[16 + 4 * 6 * 5];
        idx[2] = 0x08; idx[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(4), 4);
        BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(8), 6);
        BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(12), 5);
        rng.NextBytes(idx.AsSpan(16));
        Fuzz("idx", rng, idx, [4, 8, 12], bytes => ReadFile(tmp, bytes, p => IdxDataset.Read(p, 3)), typeof(InvalidDataException));
        Fuzz("idx.gz", rng, Gzip(idx), [], bytes => ReadFile(tmp, bytes, p => IdxDataset.Read(p, 3)), typeof(InvalidDataException));

        string st = files.PathOf("w.safetensors");
        SafetensorsFile.Save(st, new Dictionary<string, torch.Tensor> { ["a.weight"] = torch.randn(3, 4), ["b"] = torch.arange(5L) });
        var safetensors = File.ReadAllBytes(st);
        Fuzz("safetensors", rng, safetensors, [0, 4], bytes => SafetensorsFile.Load(new MemoryStream(bytes), "fuzz.safetensors", out _), typeof(InvalidDataException));

        // .pth: the zip container as a whole, and the pickle inside it re-zipped (so that zip CRCs do not hide it).
        string pthPath = files.PathOf("w.pth");
        var sd = new OrderedDictionary { ["a.weight"] = torch.randn(3, 4), ["b"] = torch.arange(5L) };
        TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(pthPath, sd);
        var pth = File.ReadAllBytes(pthPath);
        Fuzz("pth (zip)", rng, pth, [], bytes => ReadFile(tmp, bytes, p => TensorFile.Read(p)), typeof(CheckpointException));
        var (pickle, storages) = Unzip(File.Exists(ReferencePth) ? File.ReadAllBytes(ReferencePth) : pth);
        Fuzz("pth (pickle)", rng, pickle, [], bytes => ReadFile(tmp, PickleBytes.Zip(bytes, storages), p => TensorFile.Read(p)), typeof(CheckpointException));
    }

    [Fact]
    public void MutatedStoreSidecarsAndTrainingConfigsFailOnlyWithTheirDocumentedExceptions()
    {
        // A store: the sidecar is the part a reader parses before the checksum decides (the tensor file is hashed first).
        string store = files.PathOf("store/s");
        using (var made = DinoSharp.Eval.EmbeddingStore.Create(store, new DinoSharp.Eval.ModelIdentity("vit_pico_p4", "0", "resize 28", "cls"), 3))
        {
            using var rows = torch.randn(4, 3);
            made.Append(DinoSharp.Eval.EmbeddingMath.Normalize(rows), ["a", "b", "c", "d"], [0, 1, 0, 1], [(28, 28), (28, 28), (30, 20), (20, 30)]);
            made.ClassNames.AddRange(["x", "y"]);
            made.Save();
        }
        byte[] sidecar = File.ReadAllBytes(store + ".json");
        Fuzz("store (sidecar)", new Random(), sidecar, [], bytes =>
        {
            File.WriteAllBytes(store + ".json", bytes);
            DinoSharp.Eval.EmbeddingStore.Open(store).Dispose();
        }, typeof(InvalidDataException));

        // A training config (the resolved config a run folder holds).
        string config = files.PathOf("config.json");
        File.WriteAllText(config, DinoSharp.Training.TrainingConfigLoader.ToJson(DinoSharp.Training.TrainingConfigLoader.Resolve(null,
            ["student.arch=vit_pico_p7", "crops.global_crops_size=28", "crops.local_crops_size=14"])));
        Fuzz("config", new Random(), File.ReadAllBytes(config), [], bytes =>
        {
            File.WriteAllBytes(config, bytes);
            DinoSharp.Training.TrainingConfigLoader.Resolve(config);
        }, typeof(DinoSharp.Training.ConfigException));
    }

    /// <summary>A .pth written by PyTorch itself (the reference fixtures), when present.</summary>
    static string ReferencePth => Path.Combine(ReferenceFixtures.Instance.Folder, "dino_head.pth");

    void Fuzz(string format, Random unused, byte[] original, int[] lengthFields, Action<byte[]> read, params Type[] documented)
    {
        read(original);   // the unmutated input is valid
        // Each format's inputs come from its own seed: the same inputs whatever the other formats or the machine do.
        var rng = new Random(Seed ^ StableHash(format));
        int runs = 0, failures = 0;
        long worstAllocation = 0, slowestAllocation = 0;
        var slowest = TimeSpan.Zero;
        while (runs < InputsPerFormat)
        {
            byte[] input = Mutate(rng, original, lengthFields);
            Exception? error = null;
            long allocated = 0;
            var one = Stopwatch.StartNew();
            var task = Task.Run(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                using var scope = torch.NewDisposeScope();
                try { read(input); }
                catch (Exception e) { error = e; }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            });
            Assert.True(task.Wait(PerInputLimit), $"{format}: an input of {input.Length} bytes did not finish within {PerInputLimit.TotalSeconds} s (hang)");
            if (one.Elapsed > slowest) (slowest, slowestAllocation) = (one.Elapsed, allocated);
            runs++;
            if (error is not null)
            {
                failures++;
                Assert.True(documented.Any(d => d.IsInstanceOfType(error)), $"{format}: {error.GetType().Name} instead of {string.Join(" or ", documented.Select(d => d.Name))}: {error}");
                Assert.DoesNotContain("\n   at ", error.Message);
            }
            worstAllocation = Math.Max(worstAllocation, allocated);
            // Bounded: a decoder may hold a few copies of its input and its decoded output, never what a header claims.
            Assert.True(allocated < 64L * 1024 * 1024 + 64L * input.Length, $"{format}: {allocated:N0} bytes allocated for a {input.Length}-byte input");
        }
        output.WriteLine($"{format,-13} {runs,6} inputs, {failures,6} rejected cleanly, slowest {slowest.TotalMilliseconds,6:F0} ms, most allocated {worstAllocation / 1e6,6:F1} MB");
        ReliabilityFigures.Fuzz(format, runs, slowest, slowestAllocation);
    }

    /// <summary>A hash of the format's name that is the same in every process (string.GetHashCode is randomised per process).</summary>
    static int StableHash(string text)
    {
        int h = 17;
        foreach (char c in text) h = unchecked(h * 31 + c);
        return h & 0x7FFF_FFFF;
    }

    static byte[] Mutate(Random rng, byte[] original, int[] lengthFields)
    {
        var b = (byte[])original.Clone();
        switch (rng.Next(6))
        {
            case 0:   // bit flips
                for (int i = rng.Next(1, 9); i > 0; i--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1:   // truncation
                return b[..rng.Next(b.Length)];
            case 2:   // a 4- or 8-byte window (a known length field, or anywhere) set to an extreme value
            {
                int width = rng.Next(2) == 0 ? 4 : 8;
                int at = lengthFields.Length > 0 && rng.Next(2) == 0 ? lengthFields[rng.Next(lengthFields.Length)] : rng.Next(Math.Max(1, b.Length - width));
                if (at + width > b.Length) return b;
                ulong[] extremes = [0, 1, 0x7F, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, ulong.MaxValue, (ulong)rng.NextInt64()];
                ulong v = extremes[rng.Next(extremes.Length)];
                for (int i = 0; i < width; i++) b[at + i] = (byte)(v >> (8 * (rng.Next(2) == 0 ? i : width - 1 - i)));
                return b;
            }
            case 3:   // random bytes over a short run
            {
                int at = rng.Next(b.Length);
                rng.NextBytes(b.AsSpan(at, Math.Min(b.Length - at, rng.Next(1, 17))));
                return b;
            }
            case 4:   // insertion
            {
                int at = rng.Next(b.Length);
                var extra = new byte[rng.Next(1, 9)];
                rng.NextBytes(extra);
                return [.. b[..at], .. extra, .. b[at..]];
            }
            default:  // deletion
            {
                int at = rng.Next(b.Length), n = Math.Min(b.Length - at, rng.Next(1, 9));
                return [.. b[..at], .. b[(at + n)..]];
            }
        }
    }

    static void ReadFile(string path, byte[] bytes, Action<string> read)
    {
        File.WriteAllBytes(path, bytes);
        read(path);
    }

    static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    static (byte[] Pickle, Dictionary<string, byte[]> Storages) Unzip(byte[] pth)
    {
        using var zip = new ZipArchive(new MemoryStream(pth));
        byte[] Read(ZipArchiveEntry e)
        {
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        }
        var pkl = zip.Entries.First(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal));
        var storages = zip.Entries.Where(e => e.FullName.Contains("/data/", StringComparison.Ordinal)).ToDictionary(e => e.Name, Read);
        return (Read(pkl), storages);
    }
}
