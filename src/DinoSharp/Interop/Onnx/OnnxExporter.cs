using System.Globalization;
using System.Reflection;
using DinoSharp.Layers;
using DinoSharp.Models;
using Google.Protobuf;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop.Onnx;

/// <summary>
/// Writes a <see cref="DinoVisionTransformer"/> as an ONNX graph built from its architecture (not traced), in eval
/// semantics: input "pixel_values" [batch, C, H, W] at a fixed H×W, outputs cls [batch, D], patch [batch, h·w, D],
/// registers [batch, R, D]. The graph uses the op patterns ONNX Runtime's CPU optimiser fuses: LayerNormalization,
/// GELU as x·½(1 + erf(x/√2)), attention as MatMul–Softmax–MatMul on one fused qkv MatMul, Linear as MatMul + Add.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The operator set written unless <see cref="OnnxExportOptions.Opset"/> says otherwise (17: the first with LayerNormalization).</summary>
    public const int DefaultOpset = 17;

    /// <summary>Operator sets whose semantics for every op written here are those of opset 17.</summary>
    public const int MaxOpset = 21;

    /// <summary>Initializers above this total go to an external data file: protobuf messages stop at 2 GB.</summary>
    const long ExternalDataThreshold = 1L << 30;

    /// <summary>Exports a ViT with <see cref="Export(DinoVisionTransformer, string, OnnxExportOptions)"/>, a ConvNeXt with <see cref="ConvNeXtOnnxExporter.Export"/>.</summary>
    /// <exception cref="ArgumentException">An option is unsupported by the backbone's exporter, or the backbone is of another kind.</exception>
    public static void Export(IDinoBackbone model, string path, OnnxExportOptions options)
    {
        switch (model)
        {
            case DinoVisionTransformer vit: Export(vit, path, options); break;
            case ConvNeXt convNeXt: ConvNeXtOnnxExporter.Export(convNeXt, path, options); break;
            default: throw new ArgumentException($"ONNX export knows the DINO ViT and the DINOv3 ConvNeXt, not {model?.GetType().Name}.", nameof(model));
        }
    }

    /// <summary>Builds the graph of <paramref name="model"/> with its current weights and writes it to <paramref name="path"/> (weights above 1 GiB go to an external data file beside it unless <see cref="OnnxExportOptions.ExternalData"/> says otherwise).</summary>
    /// <exception cref="ArgumentException">An option is unsupported: opset outside 17–21, a size that is not a multiple of the patch size, a fixed size together with <see cref="OnnxExportOptions.DynamicImageSize"/>, no outputs, or registers for a model without them.</exception>
    public static void Export(DinoVisionTransformer model, string path, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        if (model.Config.Rope is { Dtype: not RopeDtype.Fp32 } rope)
            throw new ArgumentException($"ONNX export computes RoPE in float32; {BackboneCheckpoint.Describe(model.Config)} uses {rope.Dtype} RoPE, whose rounding the graph does not reproduce.");
        if (model.Config.Family == BackboneFamily.Dinov3Vit && options.OrtAttention)
            throw new ArgumentException("ONNX export option OrtAttention: the fused com.microsoft Attention node cannot rotate q and k; a DINOv3 ViT (RoPE) is exported with plain attention.", nameof(options));
        var (height, width, outputs, opset) = Validate(model.Config, options);
        var graph = BuildGraph(model, height, width, outputs, options.OrtAttention, opset);
        if (options.Int8Linears) QuantizeLinearWeights(graph);

        var metadata = new OnnxMetadata(model.Config with { DropPathRate = 0 }, options.Preprocessing, options.Source, options.SourceSha256,
            height, width, outputs, options.Int8Linears ? "int8" : Eval.ModelIdentity.DefaultPrecision);
        var onnx = new ModelProto
        {
            IrVersion = IrVersionFor(opset),
            ProducerName = "DinoSharp",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            DocString = $"{(model.Config.Family == BackboneFamily.Dinov3Vit ? "DINOv3" : "DINOv2")} backbone ({model.Config.EmbedDim}-d, depth {model.Config.Depth}, patch {model.Config.PatchSize}) at {(height is null ? "any image size" : $"{height}×{width}")}.",
            Graph = graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        if (options.OrtAttention || options.Int8Linears)
            onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = OnnxGraphBuilder.MicrosoftDomain, Version = 1 });
        foreach (var (key, value) in metadata.ToProperties())
            onnx.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });

        long weightBytes = graph.Initializer.Sum(t => (long)t.RawData.Length);
        if (options.ExternalData ?? weightBytes > ExternalDataThreshold)
            MoveToExternalData(graph, path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        using var stream = File.Create(path);
        onnx.WriteTo(stream);
    }

    /// <returns>The input size (null: dynamic), the outputs, and the opset to write.</returns>
    static (int? Height, int? Width, OnnxOutputs Outputs, int Opset) Validate(VisionTransformerConfig config, OnnxExportOptions options)
    {
        static ArgumentException Unsupported(string option, string message) =>
            new($"ONNX export option {option}: {message}", option);

        if (options.Opset < DefaultOpset || options.Opset > MaxOpset)
            throw Unsupported(nameof(options.Opset), $"opset {options.Opset} is not supported; use {DefaultOpset}–{MaxOpset} (LayerNormalization needs 17).");
        if (options.DynamicImageSize && (options.Height is not null || options.Width is not null))
            throw Unsupported(options.Height is not null ? nameof(options.Height) : nameof(options.Width), "a fixed size contradicts DynamicImageSize.");
        int height = options.Height ?? options.Preprocessing.Size, width = options.Width ?? options.Preprocessing.Size;
        int p = config.PatchSize;
        if (height <= 0 || height % p != 0)
            throw Unsupported(nameof(options.Height), $"{height} is not a positive multiple of the patch size {p}.");
        if (width <= 0 || width % p != 0)
            throw Unsupported(nameof(options.Width), $"{width} is not a positive multiple of the patch size {p}.");
        var outputs = options.Outputs ?? (OnnxOutputs.Cls | OnnxOutputs.Patch | (config.NumRegisterTokens > 0 ? OnnxOutputs.Registers : OnnxOutputs.None));
        if (outputs == OnnxOutputs.None || (outputs & ~(OnnxOutputs.Cls | OnnxOutputs.Patch | OnnxOutputs.Registers)) != 0)
            throw Unsupported(nameof(options.Outputs), $"'{outputs}': choose one or more of cls, patch, registers.");
        if (outputs.HasFlag(OnnxOutputs.Registers) && config.NumRegisterTokens == 0)
            throw Unsupported(nameof(options.Outputs), "registers requested, but the model has no register tokens.");
        // The antialiased resize inside a dynamic graph is Resize's antialias attribute, new in opset 18.
        int opset = options.DynamicImageSize && config.InterpolateAntialias ? Math.Max(options.Opset, 18) : options.Opset;
        return options.DynamicImageSize ? (null, null, outputs, opset) : (height, width, outputs, opset);
    }

    /// <summary>The IR version that goes with an opset (onnx/helper.py's VERSION_TABLE).</summary>
    static long IrVersionFor(int opset) => opset switch { <= 18 => 8, <= 20 => 9, _ => 10 };

    static GraphProto BuildGraph(DinoVisionTransformer model, int? height, int? width, OnnxOutputs outputs, bool ortAttention, int opset)
    {
        var c = model.Config;
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var w = model.state_dict();
        bool v3 = c.Family == BackboneFamily.Dinov3Vit;
        // LinearKMaskedBias: the key third of the qkv bias never contributes; fold the mask into the bias constant.
        foreach (var maskKey in w.Keys.Where(k => k.EndsWith(".qkv.bias_mask", StringComparison.Ordinal)).ToList())
            w[maskKey[..^"_mask".Length]] = w[maskKey[..^"_mask".Length]] * w[maskKey];
        var g = new OnnxGraphBuilder();
        g.Graph.Name = v3 ? "dinov3_backbone" : "dinov2_backbone";
        int d = c.EmbedDim, p = c.PatchSize, r = c.NumRegisterTokens;
        long? n = height is { } hh && width is { } ww ? (long)(hh / p) * (ww / p) : null;
        const string input = "pixel_values";
        g.Graph.Input.Add(OnnxGraphBuilder.FloatValue(input, [null, c.InChans, height, width], ["batch", "", "height", "width"]));

        // Patch tokens with their position embedding: Conv(kernel = stride = p) → [B, D, h, w] → [B, h·w, D].
        // DINOv3 has no learned position embedding: RoPE's tables come from the Conv's output grid instead.
        string patches;
        (string Sin, string Cos)? rope = null;
        using (g.Scope("patch_embed"))
        {
            var conv = g.Conv(input, g.Initializer("patch_embed.proj.weight", w["patch_embed.proj.weight"]),
                g.Initializer("patch_embed.proj.bias", w["patch_embed.proj.bias"]), p, p);
            var flat = g.Transpose(g.Reshape(conv, g.Int64s("shape", 0, d, -1)), 0, 2, 1);
            if (v3)
            {
                rope = RopeOnnxGraph.Tables(g, c.Rope!, w["rope_embed.periods"], g.Shape(conv, 2, 4));
                patches = flat;
            }
            else
            {
            // A fixed size gets the position embedding resized now, by the model's own bicubic matrices, as a
            // constant; a dynamic one resizes the learned grid inside the graph, to the Conv's output grid.
            var pos = height is { } h && width is { } wd
                ? g.Initializer("pos_embed.patches", model.InterpolatePositionEmbedding(h, wd)[0, 1..])   // [h·w, D]
                : ResizedPositionEmbedding(g, c, w["pos_embed"], g.Shape(conv, 2, 4), opset);          // [1, h·w, D]
            patches = g.Add(flat, pos);
            }
        }

        // [cls + pos₀, registers] (DINOv3: [cls, storage tokens]) is the same for every image and size: one constant, expanded to the batch.
        var clsPos = v3 ? w["cls_token"] : w["cls_token"] + w["pos_embed"][.., ..1];
        var prefix = r > 0 ? torch.cat([clsPos, w[v3 ? "storage_tokens" : "register_tokens"]], 1) : clsPos;  // [1, 1 + R, D]
        string tokens;
        using (g.Scope("prepare_tokens"))
        {
            var batch = g.Shape(input, 0, 1);
            var prefixShape = g.Concat(0, batch, g.Int64s("prefix_dims", 1 + r, d));
            var prefixTokens = g.Expand(g.Initializer("cls_pos_registers", prefix), prefixShape);
            tokens = g.Concat(1, prefixTokens, patches);                                       // [B, 1 + R + h·w, D]
        }

        for (int i = 0; i < c.Depth; i++)
            using (g.Scope($"blocks.{i}"))
                tokens = Block(g, c, w, $"blocks.{i}.", tokens, ortAttention, rope);

        string normed;
        using (g.Scope("norm"))
            normed = w.ContainsKey("cls_norm.weight")
                ? g.Concat(1,   // untied norms: cls_norm over cls and storage tokens, norm over the patches
                    Norm(g, c, w, "cls_norm", g.Slice(tokens, g.Int64s("prefix_start", 0), g.Int64s("prefix_end", 1 + r), g.Int64s("prefix_axis", 1))),
                    Norm(g, c, w, "norm", g.Slice(tokens, g.Int64s("tokens_start", 1 + r), g.Int64s("tokens_end", long.MaxValue), g.Int64s("tokens_axis", 1))))
                : Norm(g, c, w, "norm", tokens);

        void Output(OnnxOutputs which, string value, long?[] dims)
        {
            if (!outputs.HasFlag(which)) return;
            string name = g.RenameOutput(value, OnnxMetadata.OutputName(which));
            g.Graph.Output.Add(OnnxGraphBuilder.FloatValue(name, dims, ["batch", "patches", ""]));
        }
        Output(OnnxOutputs.Cls, g.Gather(normed, g.Int64Scalar("cls_index", 0), 1), [null, d]);
        if (outputs.HasFlag(OnnxOutputs.Registers))
            Output(OnnxOutputs.Registers, g.Slice(normed, g.Int64s("registers_start", 1), g.Int64s("registers_end", 1 + r), g.Int64s("registers_axis", 1)), [null, r, d]);
        if (outputs.HasFlag(OnnxOutputs.Patch))
            Output(OnnxOutputs.Patch, g.Slice(normed, g.Int64s("patch_start", 1 + r), g.Int64s("patch_end", long.MaxValue), g.Int64s("patch_axis", 1)), [null, n, d]);
        return g.Graph;
    }

    /// <summary>
    /// dinov2's interpolate_pos_encoding as an ONNX Resize of the learned grid [1, D, M, M] to the patch grid
    /// <paramref name="grid"/> = [h, w] (int64), flattened to [1, h·w, D]. Resize's cubic with half-pixel coordinates is
    /// F.interpolate's bicubic (align_corners=False): A = −0.75 with border taps clamped, or, antialiased, A = −0.5 with
    /// taps outside the input dropped and the rest renormalised. With an offset the scale is (h + offset)/M as in
    /// dinov2, except at the learned grid itself, which dinov2 uses unresized.
    /// </summary>
    static string ResizedPositionEmbedding(OnnxGraphBuilder g, VisionTransformerConfig c, Tensor posEmbed, string grid, int opset)
    {
        int d = c.EmbedDim, m = c.PositionGrid;
        using var _ = g.Scope("interpolate_pos_encoding");
        var learned = g.Initializer("pos_embed.grid", posEmbed[0, 1..].reshape(m, m, d).permute(2, 0, 1).unsqueeze(0));  // [1, D, M, M]
        string resized;
        if (c.InterpolateOffset == 0)
        {
            var sizes = g.Concat(0, g.Int64s("batch_channels", 1, d), grid);
            resized = g.Resize(learned, scales: "", sizes: sizes, c.InterpolateAntialias, opset);
        }
        else
        {
            var scales = g.Div(g.Add(g.Cast(grid, OnnxGraphBuilder.FloatType), g.FloatScalar("offset", (float)c.InterpolateOffset)), g.FloatScalar("grid", m));
            var native = g.ReduceAll(g.Equal(grid, g.Int64s("learned_grid", m, m)));
            var hw = g.Where(native, g.Initializer("unit_scales", torch.ones(2)), scales);
            resized = g.Resize(learned, scales: g.Concat(0, g.Initializer("batch_channel_scales", torch.ones(2)), hw), sizes: "", c.InterpolateAntialias, opset);
        }
        return g.Transpose(g.Reshape(resized, g.Int64s("flat", 1, d, -1)), 0, 2, 1);
    }

    /// <summary>The model's LayerNorm (weight, bias, its ε) or RMSNorm (weight) named <paramref name="name"/> over the last axis.</summary>
    static string Norm(OnnxGraphBuilder g, VisionTransformerConfig c, IReadOnlyDictionary<string, Tensor> w, string name, string value) =>
        c.NormLayer == NormKind.RmsNorm
            ? RopeOnnxGraph.RmsNorm(g, value, w[name + ".weight"], c.LayerNormEps, name)
            : g.LayerNormalization(value, g.Initializer(name + ".weight", w[name + ".weight"]),
                g.Initializer(name + ".bias", w[name + ".bias"]), c.LayerNormEps);

    /// <summary>x + ls1·attn(norm1 x), then + ls2·mlp(norm2 x) (LayerScale, when the model has it, folded into the output projections).</summary>
    static string Block(OnnxGraphBuilder g, VisionTransformerConfig c, IReadOnlyDictionary<string, Tensor> w, string prefix, string x, bool ortAttention,
        (string Sin, string Cos)? rope)
    {
        var ls1 = w.GetValueOrDefault(prefix + "ls1.gamma");
        var ls2 = w.GetValueOrDefault(prefix + "ls2.gamma");
        string h;
        using (g.Scope("attn"))
            h = g.Add(x, ortAttention
                ? OrtAttention(g, c, w, prefix, Norm(g, c, w, prefix + "norm1", x), ls1)
                : Attention(g, c, w, prefix, Norm(g, c, w, prefix + "norm1", x), ls1, rope));
        using (g.Scope("mlp"))
            return g.Add(h, c.FfnLayer switch
            {
                FeedForwardKind.Mlp => Mlp(g, w, prefix + "mlp.", Norm(g, c, w, prefix + "norm2", h), ls2),
                FeedForwardKind.SwiGLU => SwiGLU(g, w, prefix + "mlp.", Norm(g, c, w, prefix + "norm2", h), ls2),
                _ => throw new ArgumentException($"ONNX export option FfnLayer: {c.FfnLayer} is not supported.", nameof(c.FfnLayer)),
            });
    }

    static string Attention(OnnxGraphBuilder g, VisionTransformerConfig c, IReadOnlyDictionary<string, Tensor> w, string prefix, string x, Tensor? layerScale,
        (string Sin, string Cos)? rope)
    {
        int d = c.EmbedDim, heads = c.NumHeads, headDim = d / heads;
        var qkv = Linear(g, w, prefix + "attn.qkv", x);                                        // [B, N, 3D]
        var split = g.Transpose(g.Reshape(qkv, g.Int64s("qkv_shape", 0, -1, 3, heads, headDim)), 2, 0, 3, 1, 4);  // [3, B, heads, N, headDim]
        var q = g.Gather(split, g.Int64Scalar("q_index", 0), 0);                               // [B, heads, N, headDim]
        var k = g.Gather(split, g.Int64Scalar("k_index", 1), 0);
        var v = g.Gather(split, g.Int64Scalar("v_index", 2), 0);
        if (rope is { } tables)
        {
            q = RopeOnnxGraph.Apply(g, q, 1 + c.NumRegisterTokens, headDim, tables);
            k = RopeOnnxGraph.Apply(g, k, 1 + c.NumRegisterTokens, headDim, tables);
        }
        var scaled = g.Mul(q, g.FloatScalar("scale", (float)(1.0 / Math.Sqrt(headDim))));
        var weights = g.Softmax(g.MatMul(scaled, g.Transpose(k, 0, 1, 3, 2)), -1);             // [B, heads, N, N]
        var o = g.Transpose(g.MatMul(weights, v), 0, 2, 1, 3);                                 // [B, N, heads, headDim]
        var merged = g.Reshape(o, g.Int64s("merge_shape", 0, -1, d));                          // [B, N, D], heads in order
        return Linear(g, w, prefix + "attn.proj", merged, layerScale);
    }

    /// <summary>The same attention as one com.microsoft Attention node (its default scale is 1/√headDim too).</summary>
    static string OrtAttention(OnnxGraphBuilder g, VisionTransformerConfig c, IReadOnlyDictionary<string, Tensor> w, string prefix, string x, Tensor? layerScale)
    {
        string name = prefix + "attn.qkv";
        var weights = g.Initializer(name + ".weight_t", w[name + ".weight"].t());               // [D, 3D]
        var bias = w.TryGetValue(name + ".bias", out var b) ? g.Initializer(name + ".bias", b) : "";
        var merged = g.MicrosoftAttention(x, weights, bias, c.NumHeads);                       // [B, N, D]
        return Linear(g, w, prefix + "attn.proj", merged, layerScale);
    }

    static string Mlp(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, string prefix, string x, Tensor? layerScale)
    {
        var hidden = Linear(g, w, prefix + "fc1", x);
        // Exact GELU, x·½·(1 + erf(x/√2)), in the node order PyTorch exports and ORT's GeluFusion matches.
        var erf = g.Erf(g.Div(hidden, g.FloatScalar("sqrt2", MathF.Sqrt(2f))));
        var gelu = g.Mul(g.Mul(hidden, g.Add(erf, g.FloatScalar("one", 1f))), g.FloatScalar("half", 0.5f));
        return Linear(g, w, prefix + "fc2", gelu, layerScale);
    }

    static string SwiGLU(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, string prefix, string x, Tensor? layerScale)
    {
        if (w.ContainsKey(prefix + "w1.weight"))
        {
            // dinov3's separate w1, w2: w3(silu(w1 x) · w2 x).
            var x1 = Linear(g, w, prefix + "w1", x);
            var gate = g.Mul(x1, g.Sigmoid(x1));
            return Linear(g, w, prefix + "w3", g.Mul(gate, Linear(g, w, prefix + "w2", x)), layerScale);
        }
        var x12 = Linear(g, w, prefix + "w12", x);
        long hidden = w[prefix + "w12.weight"].shape[0] / 2;
        var halves = g.Split(x12, -1, g.Int64s("split", hidden, hidden), 2);
        var silu = g.Mul(halves[0], g.Sigmoid(halves[0]));
        return Linear(g, w, prefix + "w3", g.Mul(silu, halves[1]), layerScale);
    }

    /// <summary>
    /// y = x Wᵀ + b as MatMul + Add with Wᵀ stored [in, out]. A LayerScale γ after the layer is folded in at export
    /// time, (x Wᵀ + b)·γ = x (W·diag γ)ᵀ + b·γ, one Mul per branch fewer at inference.
    /// </summary>
    static string Linear(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, string name, string x, Tensor? layerScale = null)
    {
        var weight = w[name + ".weight"].to(ScalarType.Float64);                               // [out, in]
        var bias = w.TryGetValue(name + ".bias", out var b) ? b.to(ScalarType.Float64) : null;
        if (layerScale is not null)
        {
            var gamma = layerScale.to(ScalarType.Float64);
            weight = weight * gamma.unsqueeze(1);
            bias = bias is null ? null : bias * gamma;
        }
        var y = g.MatMul(x, g.Initializer(name + ".weight_t", weight.t()));
        return bias is null ? y : g.Add(y, g.Initializer(name + ".bias", bias));
    }

    /// <summary>
    /// Rewrites every MatMul by a Linear's weight (the initializers named <c>*.weight_t</c>, [in, out]) as
    /// com.microsoft DynamicQuantizeMatMul with the weight in int8: per output column j, scale_j = max_i |W_ij| / 127
    /// and W_ij ≈ scale_j · round(W_ij / scale_j), zero point 0.
    /// </summary>
    static void QuantizeLinearWeights(GraphProto graph)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        foreach (var node in graph.Node.Where(n => n.OpType == "MatMul" && n.Domain == ""))
        {
            if (!initializers.TryGetValue(node.Input[1], out var weight) || !weight.Name.Contains(".weight_t", StringComparison.Ordinal)
                || weight.Dims.Count != 2 || weight.DataType != OnnxGraphBuilder.FloatType
                || graph.Node.Count(n => n.Input.Contains(weight.Name)) != 1) continue;
            int rows = (int)weight.Dims[0], columns = (int)weight.Dims[1];
            var w = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(weight.RawData.Span);
            var scales = new float[columns];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                    scales[j] = Math.Max(scales[j], Math.Abs(w[i * columns + j]));
            for (int j = 0; j < columns; j++) scales[j] = scales[j] > 0 ? scales[j] / 127f : 1f;
            var q = new byte[rows * columns];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                    q[i * columns + j] = unchecked((byte)(sbyte)Math.Clamp(MathF.Round(w[i * columns + j] / scales[j]), -127f, 127f));

            TensorProto Tensor(string suffix, TensorProto.Types.DataType type, long[] dims, byte[] raw)
            {
                var t = new TensorProto { Name = weight.Name + suffix, DataType = (int)type, RawData = Google.Protobuf.ByteString.CopyFrom(raw) };
                t.Dims.AddRange(dims);
                graph.Initializer.Add(t);
                return t;
            }
            var quantized = Tensor("_int8", TensorProto.Types.DataType.Int8, [rows, columns], q);
            var scale = Tensor("_scale", TensorProto.Types.DataType.Float, [columns], System.Runtime.InteropServices.MemoryMarshal.AsBytes(scales.AsSpan()).ToArray());
            var zero = Tensor("_zero_point", TensorProto.Types.DataType.Int8, [columns], new byte[columns]);
            graph.Initializer.Remove(weight);
            node.OpType = "DynamicQuantizeMatMul";
            node.Domain = OnnxGraphBuilder.MicrosoftDomain;
            node.Input[1] = quantized.Name;
            node.Input.Add(scale.Name);
            node.Input.Add(zero.Name);
        }
    }

    /// <summary>Moves every initializer's raw data into "&lt;model&gt;.data" (4 kB aligned), as ONNX external data.</summary>
    static void MoveToExternalData(GraphProto graph, string path)
    {
        string dataFile = Path.GetFileName(path) + ".data";
        using var data = File.Create(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, dataFile));
        foreach (var tensor in graph.Initializer.Where(t => t.RawData.Length >= 1024))
        {
            long offset = (data.Position + 4095) / 4096 * 4096;
            data.Position = offset;
            tensor.RawData.WriteTo(data);
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataFile });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(CultureInfo.InvariantCulture) });
            tensor.RawData = ByteString.Empty;
        }
    }
}
