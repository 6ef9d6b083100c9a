using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DinoSharp.Tests.Reliability;

/// <summary>Hand-assembled pickle opcodes and PyTorch zip archives, for crafted (hostile) .pth files.</summary>
public sealed class PickleBytes
{
    readonly List<byte> bytes = [0x80, 0x02];   // PROTO 2

    public byte[] ToArray() => [.. bytes];

    public PickleBytes Op(char op) { bytes.Add((byte)op); return this; }
    public PickleBytes Raw(params byte[] b) { bytes.AddRange(b); return this; }
    public PickleBytes Mark() => Op('(');
    public PickleBytes Tuple() => Op('t');
    public PickleBytes Reduce() => Op('R');
    public PickleBytes Stop() => Op('.');
    public PickleBytes EmptyDict() => Op('}');
    public PickleBytes SetItems() => Op('u');

    public PickleBytes Global(string module, string name)
    {
        bytes.Add((byte)'c');
        bytes.AddRange(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        return this;
    }

    public PickleBytes Str(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        bytes.Add((byte)'X');
        var len = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, utf8.Length);
        bytes.AddRange(len);
        bytes.AddRange(utf8);
        return this;
    }

    public PickleBytes Int(int v)
    {
        bytes.Add((byte)'J');
        var b = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, v);
        bytes.AddRange(b);
        return this;
    }

    /// <summary>LONG1 with 8 bytes: an int64.</summary>
    public PickleBytes Long(long v)
    {
        bytes.AddRange([0x8a, 8]);
        var b = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, v);
        bytes.AddRange(b);
        return this;
    }

    public PickleBytes IntTuple(params long[] values)
    {
        Mark();
        foreach (var v in values) Long(v);
        return Tuple();
    }

    /// <summary>torch._utils._rebuild_tensor_v2(storage 'key' of numel floats, offset, size, stride, False, OrderedDict()).</summary>
    public PickleBytes FloatTensor(string key, long numel, long offset, long[] size, long[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Mark();
        Mark().Str("storage").Global("torch", "FloatStorage").Str(key).Str("cpu").Long(numel).Tuple().Op('Q');
        Long(offset).IntTuple(size).IntTuple(stride).Raw(0x89);
        Global("collections", "OrderedDict").Raw((byte)')').Reduce();
        return Tuple().Reduce();
    }

    /// <summary>A zip laid out as torch.save writes it: archive/data.pkl, archive/data/&lt;key&gt;, archive/version.</summary>
    public static byte[] Zip(byte[] pickle, IReadOnlyDictionary<string, byte[]>? storages = null)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] data)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
            Add("archive/data.pkl", pickle);
            foreach (var (key, data) in storages ?? new Dictionary<string, byte[]>()) Add("archive/data/" + key, data);
            Add("archive/version", "3\n"u8.ToArray());
        }
        return ms.ToArray();
    }
}
