using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header length, a JSON header, then raw tensor bytes).
/// Written here rather than taken from a package so that every header field is validated before anything is allocated:
/// the file is untrusted input.
/// </summary>
public static class SafetensorsFile
{
    /// <summary>Largest JSON header accepted (the reference implementation's own limit is 100 MB).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>Reads every tensor as float32 (F16 and BF16 are widened), keyed by name, in file order.</summary>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, out _);

    /// <summary>Reads every tensor as float32 and returns the <c>__metadata__</c> strings.</summary>
    public static Dictionary<string, Tensor> Load(string path, out Dictionary<string, string> metadata)
    {
        using var stream = OpenOrThrow(path);
        return Load(stream, path, out metadata);
    }

    /// <summary>Reads every tensor from <paramref name="stream"/> as float32 (F16 and BF16 are widened) and returns the <c>__metadata__</c> strings.</summary>
    /// <param name="stream">A seekable stream positioned at the start of the file.</param>
    /// <param name="name">Names the source in error messages.</param>
    /// <param name="metadata">Receives the header's <c>__metadata__</c> entries (empty when there are none).</param>
    /// <exception cref="InvalidDataException">The header or a tensor entry is malformed, inconsistent with the file length, or of an unsupported dtype.</exception>
    public static Dictionary<string, Tensor> Load(Stream stream, string name, out Dictionary<string, string> metadata)
    {
        long length = stream.Length;
        Span<byte> lenBytes = stackalloc byte[8];
        if (length < 8 || stream.ReadAtLeast(lenBytes, 8, throwOnEndOfStream: false) != 8)
            throw new InvalidDataException($"{name}: not a safetensors file (shorter than its 8-byte header length).");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen == 0 || headerLen > (ulong)MaxHeaderBytes || headerLen > (ulong)(length - 8))
            throw new InvalidDataException($"{name}: not a valid safetensors file (header claims {headerLen} bytes; the file has {length - 8} after the length field).");
        var headerBytes = new byte[headerLen];
        stream.ReadExactly(headerBytes);
        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes)?.AsObject() ?? throw new InvalidDataException("empty header");
            _ = header.Count;   // duplicate keys throw here, not later
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"{name}: not a valid safetensors file (header is not a JSON object: {e.Message}).");
        }

        long dataStart = 8 + (long)headerLen;
        long dataLen = length - dataStart;
        metadata = new Dictionary<string, string>();
        var entries = new List<(string Key, string Dtype, long[] Shape, long Begin, long End)>();
        // Keys and strings are transcoded lazily: invalid UTF-8 in the header surfaces while walking it.
        try
        {
            foreach (var (key, node) in header)
            {
                if (key == "__metadata__")
                {
                    if (node is JsonObject meta)
                        foreach (var (mk, mv) in meta)
                            metadata[mk] = mv?.GetValueKind() == JsonValueKind.String ? mv.GetValue<string>() : mv?.ToJsonString() ?? "";
                    continue;
                }
                if (node is not JsonObject obj)
                    throw new InvalidDataException($"{name}: tensor '{key}' has no header object.");
                string dtype = obj["dtype"] is JsonValue dv && dv.TryGetValue<string>(out var d0) ? d0 : throw new InvalidDataException($"{name}: tensor '{key}' has no dtype.");
                var shapeNode = obj["shape"] as JsonArray ?? throw new InvalidDataException($"{name}: tensor '{key}' has no shape.");
                var offsets = obj["data_offsets"] as JsonArray;
                if (offsets is null || offsets.Count != 2)
                    throw new InvalidDataException($"{name}: tensor '{key}' has no valid data_offsets.");
                long begin = Integer(offsets[0], name, key), end = Integer(offsets[1], name, key);
                if (shapeNode.Count > 32) throw new InvalidDataException($"{name}: tensor '{key}' has {shapeNode.Count} dimensions.");
                var shape = shapeNode.Select(n => Integer(n, name, key)).ToArray();
                int elemSize = ElementSize(dtype, name, key);
                // The byte count is computed in 128 bits: a header can declare dimensions whose product overflows a long.
                Int128 expected = elemSize;
                foreach (var d in shape)
                {
                    if (d < 0) throw new InvalidDataException($"{name}: tensor '{key}' has a negative dimension.");
                    expected = expected * d > long.MaxValue ? long.MaxValue : expected * d;
                }
                if (begin < 0 || end < begin || end > dataLen || end - begin != expected)
                    throw new InvalidDataException(
                        $"{name}: tensor '{key}' ({dtype} {string.Join('×', shape)}) claims bytes [{begin}, {end}) but needs {expected} bytes inside a data section of {dataLen} bytes; the file is truncated or corrupt.");
                entries.Add((key, dtype, shape, begin, end));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{name}: not a valid safetensors file (malformed header: {e.Message}).");
        }

        var result = new Dictionary<string, Tensor>();
        foreach (var (key, dtype, shape, begin, end) in entries)
        {
            stream.Position = dataStart + begin;
            var bytes = new byte[end - begin];
            stream.ReadExactly(bytes);
            result[key] = Decode(bytes, dtype, shape);
        }
        return result;
    }

    /// <summary>
    /// Writes tensors in the given order: int64 tensors as I64 (labels, indices), everything else converted to
    /// contiguous CPU float32.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        var blobs = new List<byte[]>(list.Count);
        foreach (var (key, t) in list)
        {
            bool isInt64 = t.dtype == ScalarType.Int64;
            using var cpu = t.detach().to(isInt64 ? ScalarType.Int64 : ScalarType.Float32, CPU).contiguous();
            byte[] bytes = isInt64 ? ToBytes(cpu.data<long>().ToArray(), 8) : ToBytes(cpu.data<float>().ToArray(), 4);
            blobs.Add(bytes);
            header[key] = new JsonObject
            {
                ["dtype"] = isInt64 ? "I64" : "F32",
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            offset += bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        var headerBytes = new byte[padded];
        Array.Fill(headerBytes, (byte)' ');
        json.CopyTo(headerBytes, 0);

        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        fs.Write(len);
        fs.Write(headerBytes);
        foreach (var b in blobs) fs.Write(b);
    }

    static byte[] ToBytes(Array data, int elementSize)
    {
        var bytes = new byte[data.Length * elementSize];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    static FileStream OpenOrThrow(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found.", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    static long Integer(JsonNode? node, string name, string key) =>
        node is JsonValue v && v.TryGetValue<long>(out long x) ? x
            : throw new InvalidDataException($"{name}: tensor '{key}' has a shape or offset that is not an integer ({node?.ToJsonString() ?? "null"}).");

    static int ElementSize(string dtype, string name, string key) => dtype switch
    {
        "F32" => 4,
        "F16" or "BF16" => 2,
        "F64" or "I64" => 8,
        "I32" => 4,
        "BOOL" or "U8" or "I8" => 1,
        _ => throw new InvalidDataException($"{name}: tensor '{key}' has unsupported dtype '{dtype}' (supported: F32, F16, BF16, F64, I64, I32, U8, I8, BOOL)."),
    };

    static Tensor Decode(byte[] bytes, string dtype, long[] shape)
    {
        var type = dtype switch
        {
            "F32" => ScalarType.Float32,
            "F16" => ScalarType.Float16,
            "BF16" => ScalarType.BFloat16,
            "F64" => ScalarType.Float64,
            "I64" => ScalarType.Int64,
            "I32" => ScalarType.Int32,
            "U8" or "BOOL" => ScalarType.Byte,
            _ => ScalarType.Int8,
        };
        using var raw = torch.empty(shape, type);
        if (bytes.Length > 0) raw.bytes = bytes;
        return dtype is "F16" or "BF16" or "F64" ? raw.to(ScalarType.Float32) : raw.clone();
    }
}
