using Google.Protobuf;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop.Onnx;

/// <summary>
/// Appends nodes and initializers to an ONNX graph in topological order. Every node method returns the name of its
/// (first) output, so a graph reads like the forward pass it encodes: <c>var h = g.Add(x, g.MatMul(y, w))</c>.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    readonly Dictionary<string, int> nameCounts = new(StringComparer.Ordinal);
    readonly Stack<string> scopes = new();

    public GraphProto Graph { get; } = new();

    /// <summary>Prefixes node and value names with <paramref name="name"/> until disposed (e.g. "blocks.3/attn").</summary>
    public IDisposable Scope(string name)
    {
        scopes.Push(scopes.Count == 0 ? name : $"{scopes.Peek()}/{name}");
        return new PopScope(scopes);
    }

    sealed class PopScope(Stack<string> scopes) : IDisposable
    {
        public void Dispose() => scopes.Pop();
    }

    string Unique(string name)
    {
        string scoped = scopes.Count == 0 ? name : $"{scopes.Peek()}/{name}";
        int n = nameCounts.TryGetValue(scoped, out var c) ? c + 1 : 0;
        nameCounts[scoped] = n;
        return n == 0 ? scoped : $"{scoped}_{n}";
    }

    // ---- graph inputs, outputs, initializers ----

    /// <summary>A float32 graph input or output; a null dimension is symbolic (named by <paramref name="dimNames"/>).</summary>
    public static ValueInfoProto FloatValue(string name, long?[] dims, string[] dimNames)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
            shape.Dim.Add(dims[i] is { } d ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension { DimParam = dimNames[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    /// <summary>A float32 initializer holding a copy of <paramref name="value"/> (any device or dtype).</summary>
    public string Initializer(string name, Tensor value)
    {
        using var cpu = value.detach().to(ScalarType.Float32, CPU).contiguous();
        var tensor = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(cpu.shape);
        // raw_data is little-endian IEEE 754 (onnx.proto); so is every platform .NET runs on.
        tensor.RawData = ByteString.CopyFrom(cpu.bytes);
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public string Int64s(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A scalar (rank-0) int64 initializer, e.g. a Gather index that drops the gathered axis.</summary>
    public string Int64Scalar(string name, long value)
    {
        var tensor = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Int64Data.Add(value);
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public string FloatScalar(string name, float value)
    {
        var tensor = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        tensor.FloatData.Add(value);
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    // ---- nodes ----

    /// <summary>Gives the value a node just produced a public name (a graph output) and returns it.</summary>
    public string RenameOutput(string value, string name)
    {
        var node = Graph.Node.Last(n => n.Output.Contains(value));
        node.Output[node.Output.IndexOf(value)] = name;
        return name;
    }

    public string[] Node(string opType, string[] inputs, int outputs = 1, params AttributeProto[] attributes) =>
        Node("", opType, inputs, outputs, attributes);

    /// <summary>A node of an operator set other than the standard one (e.g. "com.microsoft").</summary>
    public string[] Node(string domain, string opType, string[] inputs, int outputs = 1, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Domain = domain, Name = Unique(opType) };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(i => outputs == 1 ? node.Name : $"{node.Name}:{i}").ToArray();
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return names;
    }

    string One(string opType, string[] inputs, params AttributeProto[] attributes) => Node(opType, inputs, 1, attributes)[0];

    public string Add(string a, string b) => One("Add", [a, b]);
    public string Mul(string a, string b) => One("Mul", [a, b]);
    public string Div(string a, string b) => One("Div", [a, b]);
    public string MatMul(string a, string b) => One("MatMul", [a, b]);
    public string Erf(string x) => One("Erf", [x]);
    public string Sigmoid(string x) => One("Sigmoid", [x]);
    public string Softmax(string x, long axis) => One("Softmax", [x], Int("axis", axis));
    public string Reshape(string x, string shape) => One("Reshape", [x, shape]);
    public string Transpose(string x, params long[] perm) => One("Transpose", [x], Ints("perm", perm));
    public string Gather(string x, string indices, long axis) => One("Gather", [x, indices], Int("axis", axis));
    public string Concat(long axis, params string[] inputs) => One("Concat", inputs, Int("axis", axis));
    public string Expand(string x, string shape) => One("Expand", [x, shape]);
    public string Slice(string x, string starts, string ends, string axes) => One("Slice", [x, starts, ends, axes]);

    /// <summary>Shape(x)[start:end] (opset 15's start/end attributes).</summary>
    public string Shape(string x, long start, long end) => One("Shape", [x], Int("start", start), Int("end", end));

    public string LayerNormalization(string x, string scale, string bias, double epsilon) =>
        One("LayerNormalization", [x, scale, bias], Int("axis", -1), Float("epsilon", (float)epsilon));

    public string Conv(string x, string weight, string? bias, long kernel, long stride) =>
        One("Conv", bias is null ? [x, weight] : [x, weight, bias], Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride));

    /// <summary>
    /// ONNX Runtime's com.microsoft Attention: multi-head self-attention with the qkv projection fused in, weights
    /// [D, 3D] (q | k | v columns, heads contiguous in each) and bias [3D] (empty name: none).
    /// </summary>
    public string MicrosoftAttention(string x, string weights, string bias, long numHeads) =>
        Node(MicrosoftDomain, "Attention", [x, weights, bias], 1, Int("num_heads", numHeads))[0];

    public const string MicrosoftDomain = "com.microsoft";

    public const int FloatType = (int)TensorProto.Types.DataType.Float;

    public string Cast(string x, int to) => One("Cast", [x], Int("to", to));
    public string Equal(string a, string b) => One("Equal", [a, b]);
    public string Where(string condition, string a, string b) => One("Where", [condition, a, b]);

    /// <summary>True when every element of a bool vector is (Cast to int, ReduceMin, Cast back: no ReduceAll in ONNX).</summary>
    public string ReduceAll(string x) =>
        Cast(One("ReduceMin", [Cast(x, (int)TensorProto.Types.DataType.Int32)], Int("keepdims", 0)), (int)TensorProto.Types.DataType.Bool);

    /// <summary>
    /// Bicubic Resize with half-pixel coordinates, by <paramref name="scales"/> or to <paramref name="sizes"/> (the other
    /// empty). Plain: A = −0.75, taps clamped at the border; antialiased (opset 18): A = −0.5, outside taps excluded.
    /// </summary>
    public string Resize(string x, string scales, string sizes, bool antialias, int opset)
    {
        var attributes = new List<AttributeProto>
        {
            Str("mode", "cubic"),
            Str("coordinate_transformation_mode", "half_pixel"),
            Float("cubic_coeff_a", antialias ? -0.5f : -0.75f),
            Int("exclude_outside", antialias ? 1 : 0),
        };
        if (antialias)
        {
            if (opset < 18) throw new InvalidOperationException("Antialiased Resize needs opset 18.");
            attributes.Add(Int("antialias", 1));
        }
        return One("Resize", sizes.Length > 0 ? [x, "", "", sizes] : [x, "", scales], [.. attributes]);
    }

    public string[] Split(string x, long axis, string sizes, int outputs) => Node("Split", [x, sizes], outputs, Int("axis", axis));

    // ---- attributes ----

    static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    static AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
