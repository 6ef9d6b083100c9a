using System.Buffers.Binary;
using System.Collections.Specialized;
using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>
/// Reads the pickle of a PyTorch zip checkpoint with PyTorch's <c>weights_only=True</c> semantics: the only globals a
/// file may name are <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor(_v2)</c>,
/// <c>torch._utils._rebuild_parameter</c> and the typed storages (<c>torch.FloatStorage</c>, ...); the only other values
/// are dicts, lists, tuples, numbers, strings, bytes, booleans and None. Any other global (<c>os.system</c>,
/// <c>builtins.eval</c>, a model class, ...) is refused with a <see cref="CheckpointException"/> naming it, as soon as
/// the opcode naming it is read. Nothing is ever executed: this is an interpreter of the pickle opcodes that build
/// plain data, written here because Razorvine.Pickle (under TorchSharp.PyBridge) resolves any global to a generic object
/// and lets the file's numbers size its allocations. Every size read from the file is checked against the bytes that
/// actually back it before anything is allocated.
/// </summary>
public static class WeightsOnlyUnpickler
{
    /// <summary>Largest data.pkl accepted (the pickle holds structure only; a ViT-g training checkpoint's is well under 1 MB).</summary>
    public const long MaxPickleBytes = 32L << 20;

    static readonly Dictionary<string, ScalarType> Storages = new()
    {
        ["DoubleStorage"] = ScalarType.Float64, ["FloatStorage"] = ScalarType.Float32, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    static readonly HashSet<string> Functions =
    [
        "collections.OrderedDict", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    ];

    /// <summary>What the allow-list admits, for messages.</summary>
    public const string Allowed = "tensors, typed storages, OrderedDict, dict, list, tuple, numbers, strings";

    /// <summary>A global the file named and the allow-list admits.</summary>
    sealed record Global(string Module, string Name)
    {
        public string FullName => Module + "." + Name;
    }

    /// <summary>A Python tuple (lists are <see cref="List{T}"/>, dicts <see cref="OrderedDictionary"/>).</summary>
    public sealed record PickleTuple(object?[] Items);

    sealed class Mark
    {
        public static readonly Mark Instance = new();
    }

    /// <summary>Reads the object stored in a PyTorch zip checkpoint (usually a dict of tensors).</summary>
    public static object? Load(string path)
    {
        using var stream = File.OpenRead(path);
        using var archive = new ZipArchive(stream, ZipArchiveMode.Read);
        return Load(archive, path, stream.Length);
    }

    /// <summary>Reads the object stored in an opened checkpoint archive of <paramref name="archiveBytes"/> bytes.</summary>
    public static object? Load(ZipArchive archive, string source, long archiveBytes)
    {
        var pkl = archive.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal))
            ?? throw new CheckpointException($"{source}: a zip file without data.pkl, not a PyTorch checkpoint.");
        if (pkl.Length > MaxPickleBytes)
            throw new CheckpointException($"{source}: data.pkl declares {pkl.Length:N0} bytes, more than the {MaxPickleBytes:N0} a checkpoint's structure needs.");
        CheckDeclaredLength(pkl, source, archiveBytes);
        var bytes = new byte[pkl.Length];
        using (var s = pkl.Open()) s.ReadExactly(bytes);
        string prefix = pkl.FullName[..^"data.pkl".Length];
        return new Machine(bytes, archive, prefix, source, archiveBytes).Run();
    }

    /// <summary>Deflate expands at most 1032:1, so a larger declared size is a forged header, refused before allocating it.</summary>
    static void CheckDeclaredLength(ZipArchiveEntry entry, string source, long archiveBytes)
    {
        if (entry.CompressedLength > archiveBytes || entry.Length > entry.CompressedLength * 1032 + 1024)
            throw new InvalidDataException($"{source}: the archive entry {entry.FullName} declares {entry.Length:N0} bytes from {entry.CompressedLength:N0} compressed; the file is corrupt.");
    }

    sealed class Machine(byte[] code, ZipArchive archive, string prefix, string source, long archiveBytes)
    {
        readonly List<object?> stack = [];
        readonly Stack<int> marks = new();
        readonly Dictionary<long, object?> memo = [];
        readonly Dictionary<string, Tensor> storages = [];
        int pos;

        public object? Run()
        {
            while (true)
            {
                byte op = U8();
                switch (op)
                {
                    case 0x80: U8(); break;                                  // PROTO
                    case 0x95: Bytes(8); break;                              // FRAME (a length hint only)
                    case (byte)'.': return stack.Count == 1 ? stack[0] : throw Bad($"the pickle ends with {stack.Count} values on its stack"); // STOP
                    case (byte)'(': marks.Push(stack.Count); break;          // MARK
                    case (byte)'0': Pop(); break;                            // POP
                    case (byte)'1': PopMark(); break;                        // POP_MARK
                    case (byte)'2': Push(Peek()); break;                     // DUP
                    case (byte)'N': Push(null); break;
                    case 0x88: Push(true); break;
                    case 0x89: Push(false); break;
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                    case (byte)'K': Push((long)U8()); break;
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                    case 0x8a: Push(Long((long)U8())); break;                      // LONG1
                    case 0x8b: Push(Long((long)Length((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))))); break;   // LONG4
                    case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break;              // BINFLOAT
                    case (byte)'X': Push(Encoding.UTF8.GetString(Bytes(Length((long)BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)))))); break;
                    case 0x8c: Push(Encoding.UTF8.GetString(Bytes(U8()))); break;                             // SHORT_BINUNICODE
                    case 0x8d: Push(Encoding.UTF8.GetString(Bytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8)))))); break;
                    case (byte)'T': Push(Encoding.Latin1.GetString(Bytes(Length((long)BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)))))); break;
                    case (byte)'U': Push(Encoding.Latin1.GetString(Bytes(U8()))); break;
                    case (byte)'B': Push(Bytes(Length((long)BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)))).ToArray()); break;
                    case (byte)'C': Push(Bytes(U8()).ToArray()); break;
                    case 0x8e: Push(Bytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8)))).ToArray()); break;
                    case (byte)'}': Push(new OrderedDictionary()); break;    // EMPTY_DICT
                    case (byte)']': Push(new List<object?>()); break;        // EMPTY_LIST
                    case (byte)')': Push(new PickleTuple([])); break;        // EMPTY_TUPLE
                    case (byte)'t': Push(new PickleTuple(PopMark())); break; // TUPLE
                    case 0x85: Push(new PickleTuple([Pop()])); break;
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new PickleTuple([a, b])); break; }
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PickleTuple([a, b, c])); break; }
                    case (byte)'l': Push(PopMark().ToList()); break;         // LIST
                    case (byte)'d': { var d = new OrderedDictionary(); SetItems(d, PopMark()); Push(d); break; }   // DICT
                    case (byte)'a': { var v = Pop(); As<List<object?>>(Peek(), "APPEND").Add(v); break; }
                    case (byte)'e': { var items = PopMark(); As<List<object?>>(Peek(), "APPENDS").AddRange(items); break; }
                    case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(As<OrderedDictionary>(Peek(), "SETITEM"), [k, v]); break; }
                    case (byte)'u': { var items = PopMark(); SetItems(As<OrderedDictionary>(Peek(), "SETITEMS"), items); break; }
                    case (byte)'q': memo[U8()] = Peek(); break;              // BINPUT
                    case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))] = Peek(); break;
                    case 0x94: memo[memo.Count] = Peek(); break;             // MEMOIZE
                    case (byte)'h': Push(Memo(U8())); break;                 // BINGET
                    case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)))); break;
                    case (byte)'c': { string module = Line(), name = Line(); Push(Resolve(module, name)); break; }   // GLOBAL
                    case 0x93: { var name = Pop(); var module = Pop(); Push(Resolve(As<string>(module, "STACK_GLOBAL"), As<string>(name, "STACK_GLOBAL"))); break; }
                    case (byte)'R': { var args = As<PickleTuple>(Pop(), "REDUCE"); var f = Pop(); Push(Call(f, args.Items)); break; }
                    case (byte)'b': { var state = Pop(); Build(Peek(), state); break; }
                    case (byte)'Q': Push(PersistentLoad(Pop())); break;      // BINPERSID
                    default:
                        throw new CheckpointException($"{source}: the pickle uses opcode 0x{op:X2} at byte {pos - 1}, which a weights-only checkpoint never needs; refusing to load it.");
                }
            }
        }

        object? Resolve(string module, string name)
        {
            var g = new Global(module, name);
            if (Functions.Contains(g.FullName) || (module == "torch" && Storages.ContainsKey(name))) return g;
            throw new CheckpointException(
                $"{source}: refusing to load: the pickle references the global '{g.FullName}', which is not allowed in a weights-only checkpoint (allowed: {Allowed}). " +
                "Only load it if you trust its origin; re-save it with torch.save(model.state_dict()) or as safetensors.");
        }

        object? Call(object? f, object?[] args)
        {
            if (f is not Global g || !Functions.Contains(g.FullName))
                throw Bad($"REDUCE applies {Describe(f)}, which is not a callable a weights-only checkpoint may use");
            switch (g.FullName)
            {
                case "collections.OrderedDict":
                {
                    var d = new OrderedDictionary();
                    // OrderedDict(), OrderedDict([(k, v), ...]) or OrderedDict(((k, v), ...)) (PyBridge writes OrderedDict(()))
                    IReadOnlyList<object?>? pairs = args is [List<object?> list] ? list : args is [PickleTuple tuple] ? tuple.Items : null;
                    if (pairs is not null)
                        foreach (var p in pairs)
                            if (p is PickleTuple { Items.Length: 2 } kv) SetItems(d, kv.Items);
                            else throw Bad("OrderedDict built from something other than (key, value) pairs");
                    else if (args.Length != 0) throw Bad("OrderedDict called with unexpected arguments");
                    return d;
                }
                case "torch._utils._rebuild_parameter":
                    return args.Length >= 1 && args[0] is Tensor data ? data : throw Bad("_rebuild_parameter without a tensor");
                default:   // _rebuild_tensor(storage, offset, size, stride[, requires_grad, hooks, metadata])
                    if (args.Length < 4 || args[0] is not Tensor storage) throw Bad($"{g.Name} without a storage");
                    return View(storage, Int(args[1]), Longs(args[2]), Longs(args[3]));
            }
        }

        /// <summary>The tensor a (storage, offset, size, stride) names, after checking it lies inside the storage.</summary>
        Tensor View(Tensor storage, long offset, long[] size, long[] stride)
        {
            if (size.Length != stride.Length || size.Length > 32) throw Bad("a tensor's size and stride do not match");
            if (offset < 0 || size.Any(s => s < 0) || stride.Any(s => s < 0)) throw Bad("a tensor has a negative size, stride or offset");
            long numel = storage.shape[0];
            if (size.All(s => s > 0))
            {
                long last = offset;
                foreach (var (s, st) in size.Zip(stride)) last = checked(last + (s - 1) * st);
                if (last >= numel) throw Bad($"a tensor reaches element {last} of a storage of {numel}");
            }
            else if (offset > numel) throw Bad($"a tensor starts at element {offset} of a storage of {numel}");
            using var view = storage.as_strided(size, stride, offset);
            return view.clone();
        }

        void Build(object? target, object? state)
        {
            // torch.save pickles OrderedDict state dicts with their _metadata attribute (version numbers): not needed.
            if (target is OrderedDictionary && state is OrderedDictionary or null) return;
            throw Bad($"BUILD sets the state of {Describe(target)}");
        }

        Tensor PersistentLoad(object? pid)
        {
            if (pid is not PickleTuple { Items: [string kind, Global g, var keyObj, _, var numelObj, ..] } || kind != "storage"
                || g.Module != "torch" || !Storages.TryGetValue(g.Name, out var dtype))
                throw Bad($"persistent id {Describe(pid)} is not a typed storage");
            string key = keyObj?.ToString() ?? throw Bad("a storage without a key");
            if (storages.TryGetValue(key, out var cached)) return cached;
            long count = Int(numelObj);
            var entry = archive.GetEntry(prefix + "data/" + key) ?? throw Bad($"storage '{key}' is missing from the archive");
            long elementSize = dtype switch { ScalarType.Float64 or ScalarType.Int64 => 8, ScalarType.Float32 or ScalarType.Int32 => 4, ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2, _ => 1 };
            long bytes = checked(count * elementSize);
            if (count < 0 || bytes > entry.Length || bytes > Array.MaxLength)
                throw Bad($"storage '{key}' claims {count:N0} elements ({bytes:N0} bytes) but its archive entry holds {entry.Length:N0} bytes");
            CheckDeclaredLength(entry, source, archiveBytes);
            var data = new byte[bytes];
            using (var s = entry.Open()) s.ReadExactly(data);
            var t = torch.empty(count, dtype);
            if (bytes > 0) t.bytes = data;
            storages[key] = t;
            return t;
        }

        static void SetItems(OrderedDictionary d, IReadOnlyList<object?> items)
        {
            if (items.Count % 2 != 0) throw new InvalidDataException("SETITEMS with an odd number of values");
            for (int i = 0; i < items.Count; i += 2)
                d[items[i] ?? throw new InvalidDataException("a dict key is None")] = items[i + 1];
        }

        long Int(object? o) => o is long l ? l : throw Bad($"expected an integer, found {Describe(o)}");

        long[] Longs(object? o) => o is PickleTuple t ? t.Items.Select(Int).ToArray() : throw Bad($"expected a tuple of integers, found {Describe(o)}");

        object Long(long n)
        {
            if (n > 8) throw Bad($"an integer of {n} bytes does not fit 64 bits");
            var b = Bytes((int)n);
            long v = 0;
            for (int i = b.Length - 1; i >= 0; i--) v = (v << 8) | b[i];
            if (b.Length is > 0 and < 8 && (b[^1] & 0x80) != 0) v -= 1L << (8 * b.Length);   // two's complement sign
            return v;
        }

        object? Memo(long index) => memo.TryGetValue(index, out var v) ? v : throw Bad($"memo entry {index} is read before it is written");

        static T As<T>(object? o, string op) => o is T t ? t : throw new InvalidDataException($"{op} applied to {Describe(o)}");

        byte U8() => pos < code.Length ? code[pos++] : throw Bad("the pickle is truncated");

        ReadOnlySpan<byte> Bytes(int n)
        {
            if (n < 0 || n > code.Length - pos) throw Bad("the pickle is truncated");
            pos += n;
            return code.AsSpan(pos - n, n);
        }

        int Length(long n) => n >= 0 && n <= code.Length - pos ? (int)n : throw Bad($"a length of {n} runs past the end of the pickle");

        int Length(ulong n) => n <= (ulong)(code.Length - pos) ? (int)n : throw Bad($"a length of {n} runs past the end of the pickle");

        string Line()
        {
            int end = Array.IndexOf(code, (byte)'\n', pos);
            if (end < 0 || end - pos > 256) throw Bad("a GLOBAL name is not terminated");
            string s = Encoding.ASCII.GetString(code, pos, end - pos);
            pos = end + 1;
            return s;
        }

        void Push(object? o) => stack.Add(o);

        object? Peek() => stack.Count > (marks.Count > 0 ? marks.Peek() : 0) ? stack[^1] : throw Bad("the pickle reads an empty stack");

        object? Pop()
        {
            var o = Peek();
            stack.RemoveAt(stack.Count - 1);
            return o;
        }

        object?[] PopMark()
        {
            if (marks.Count == 0) throw Bad("the pickle closes a MARK it never opened");
            int at = marks.Pop();
            var items = stack.GetRange(at, stack.Count - at).ToArray();
            stack.RemoveRange(at, stack.Count - at);
            return items;
        }

        static string Describe(object? o) => o switch
        {
            null => "None",
            Global g => g.FullName,
            PickleTuple t => $"a tuple of {t.Items.Length}",
            _ => "a " + o.GetType().Name,
        };

        InvalidDataException Bad(string what) => new($"{source}: not a valid weights-only PyTorch checkpoint: {what}.");
    }
}
