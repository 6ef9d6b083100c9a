using System.Globalization;
using System.Reflection;
using System.Text.Json;
using DinoSharp.Models;
using Google.Protobuf;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop.Onnx;

/// <summary>
/// Writes a DINOv3 <see cref="ConvNeXt"/> as an ONNX graph built from its architecture (not traced), in eval semantics:
/// input "pixel_values" [batch, C, H, W] (fixed, or any size of at least 32×32), outputs "cls" [batch, D] and "patch"
/// [batch, h·w, D] as <see cref="ConvNeXt.ForwardFeatures"/>, and optionally, for the last n stages,
/// "intermediate{j}_cls" [batch, Dᵢ] and "intermediate{j}_patch" [batch, h'·w', Dᵢ] as its get_intermediate_layers with
/// norm: the resize to the (H/p)×(W/p) grid is ONNX Resize with linear, half-pixel, antialias and exclude_outside — an opset-18 attribute,
/// so graphs with resized intermediate outputs are written at opset 18 or later.
/// </summary>
/// <remarks>
/// The ops are those ORT's CPU optimiser fuses: Conv (grouped for the 7×7 depthwise ones), LayerNormalization (the
/// channels-first ones between two Transposes), GELU as x·½(1 + erf(x/√2)), Linear as MatMul + Add with γ folded in.
/// The metadata names the family ("dinosharp.family" = dinov3_convnext) and the architecture under its own key, so a
/// reader that expects a ViT stops with a clear message instead of misreading it.
/// </remarks>
public static class ConvNeXtOnnxExporter
{
    /// <summary>The opset written when intermediate maps are resized (Resize's antialias attribute is new in 18).</summary>
    public const int ResizeOpset = 18;

    /// <summary>metadata_props key of the model family, "dinov3_convnext".</summary>
    public const string FamilyKey = "dinosharp.family";
    /// <summary>metadata_props key of the <see cref="ConvNeXtConfig"/> (JSON).</summary>
    public const string ArchitectureKey = "dinosharp.convnext_architecture";

    /// <summary>Builds the graph of <paramref name="model"/> with its current weights and writes it to <paramref name="path"/>.</summary>
    /// <param name="model">The network (its weights are copied into the file).</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="options">Size (fixed or dynamic), outputs (cls and/or patch; no registers), opset 17–21, preprocessing and source for the metadata.</param>
    /// <param name="intermediateStages">Also output get_intermediate_layers of this many last stages (0–4).</param>
    /// <exception cref="ArgumentException">An option is unsupported: opset outside 17–21, a side under 32, a fixed size with DynamicImageSize, registers, OrtAttention, or intermediateStages outside 0–4.</exception>
    public static void Export(ConvNeXt model, string path, OnnxExportOptions options, int intermediateStages = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        var (height, width, outputs, opset) = Validate(model.Config, options, intermediateStages);
        var graph = BuildGraph(model, height, width, outputs, intermediateStages, opset);
        var onnx = new ModelProto
        {
            IrVersion = opset switch { <= 18 => 8, <= 20 => 9, _ => 10 },
            ProducerName = "DinoSharp",
            ProducerVersion = typeof(ConvNeXtOnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            DocString = $"DINOv3 ConvNeXt (dims {string.Join("-", model.Config.Dims)}, depths {string.Join("-", model.Config.Depths)}) at {(height is null ? "any image size" : $"{height}×{width}")}.",
            Graph = graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        var properties = new Dictionary<string, string>
        {
            [FamilyKey] = "dinov3_convnext",
            [ArchitectureKey] = JsonSerializer.Serialize(model.Config with { DropPathRate = 0 }, ModelCard.Json),
            [OnnxMetadata.PreprocessingKey] = JsonSerializer.Serialize(options.Preprocessing, ModelCard.Json),
            [OnnxMetadata.SourceKey] = options.Source,
            [OnnxMetadata.SourceSha256Key] = options.SourceSha256,
            [OnnxMetadata.ImageSizeKey] = height is null ? "dynamic" : $"{height}x{width}",
            [OnnxMetadata.OutputsKey] = OnnxMetadata.FormatOutputs(outputs),
        };
        foreach (var (key, value) in properties)
            onnx.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        using var stream = File.Create(path);
        onnx.WriteTo(stream);
    }

    /// <summary>The graph output names of intermediate stage j (0 = the earliest of those exported).</summary>
    public static (string Cls, string Patch) IntermediateOutputNames(int j) =>
        ($"intermediate{j.ToString(CultureInfo.InvariantCulture)}_cls", $"intermediate{j.ToString(CultureInfo.InvariantCulture)}_patch");

    static (int? Height, int? Width, OnnxOutputs Outputs, int Opset) Validate(ConvNeXtConfig config, OnnxExportOptions options, int intermediateStages)
    {
        static ArgumentException Unsupported(string option, string message) => new($"ONNX export option {option}: {message}", option);

        if (options.Opset < OnnxExporter.DefaultOpset || options.Opset > OnnxExporter.MaxOpset)
            throw Unsupported(nameof(options.Opset), $"opset {options.Opset} is not supported; use {OnnxExporter.DefaultOpset}–{OnnxExporter.MaxOpset} (LayerNormalization needs 17).");
        if (options.DynamicImageSize && (options.Height is not null || options.Width is not null))
            throw Unsupported(options.Height is not null ? nameof(options.Height) : nameof(options.Width), "a fixed size contradicts DynamicImageSize.");
        if (options.OrtAttention)
            throw Unsupported(nameof(options.OrtAttention), "a ConvNeXt has no attention.");
        if (options.Int8Linears)
            throw Unsupported(nameof(options.Int8Linears), "int8 Linears are offered for ViTs only (measured there: docs/performance.md).");
        if (intermediateStages is < 0 or > ConvNeXtConfig.Stages)
            throw Unsupported("intermediateStages", $"{intermediateStages} is not in 0–{ConvNeXtConfig.Stages}.");
        int height = options.Height ?? options.Preprocessing.Size, width = options.Width ?? options.Preprocessing.Size;
        if (height < ConvNeXtConfig.Stride)
            throw Unsupported(nameof(options.Height), $"{height} is under the ConvNeXt's total stride {ConvNeXtConfig.Stride}.");
        if (width < ConvNeXtConfig.Stride)
            throw Unsupported(nameof(options.Width), $"{width} is under the ConvNeXt's total stride {ConvNeXtConfig.Stride}.");
        var outputs = options.Outputs ?? (OnnxOutputs.Cls | OnnxOutputs.Patch);
        if (outputs == OnnxOutputs.None || (outputs & ~(OnnxOutputs.Cls | OnnxOutputs.Patch)) != 0)
            throw Unsupported(nameof(options.Outputs), $"'{outputs}': choose cls and/or patch (a ConvNeXt has no register tokens).");
        int opset = intermediateStages > 0 && config.PatchSize is not null ? Math.Max(options.Opset, ResizeOpset) : options.Opset;
        return options.DynamicImageSize ? (null, null, outputs, opset) : (height, width, outputs, opset);
    }

    static GraphProto BuildGraph(ConvNeXt model, int? height, int? width, OnnxOutputs outputs, int intermediateStages, int opset)
    {
        var c = model.Config;
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var w = model.state_dict();
        var g = new OnnxGraphBuilder();
        g.Graph.Name = "dinov3_convnext";
        const string input = "pixel_values";
        g.Graph.Input.Add(OnnxGraphBuilder.FloatValue(input, [null, c.InChans, height, width], ["batch", "", "height", "width"]));
        long? Grid(int? side, int p) => side is { } s ? s / p : null;
        long? n = height is not null ? Grid(height, ConvNeXtConfig.Stride) * Grid(width, ConvNeXtConfig.Stride) : null;

        string x = input;
        int firstIntermediate = ConvNeXtConfig.Stages - intermediateStages;
        for (int i = 0; i < ConvNeXtConfig.Stages; i++)
        {
            using (g.Scope($"downsample_layers.{i}"))
            {
                string prefix = $"downsample_layers.{i}.";
                x = i == 0
                    ? ChannelsFirstNorm(g, w, prefix + "1", Conv(g, w, prefix + "0", x, kernel: 4, stride: 4, pad: 0, group: 1))
                    : Conv(g, w, prefix + "1", ChannelsFirstNorm(g, w, prefix + "0", x), kernel: 2, stride: 2, pad: 0, group: 1);
            }
            for (int j = 0; j < c.Depths[i]; j++)
                using (g.Scope($"stages.{i}.{j}"))
                    x = Block(g, w, $"stages.{i}.{j}.", x, c.Dims[i]);
            if (i >= firstIntermediate)
                using (g.Scope($"intermediate.{i}"))
                    Intermediate(g, w, c, input, x, i, i - firstIntermediate, opset);
        }

        using (g.Scope("norm"))
        {
            long d = c.EmbedDim;
            var pooled = g.Reshape(One(g, "GlobalAveragePool", [x]), g.Int64s("pooled_shape", 0, 1, d));   // [B, 1, D]
            var positions = g.Transpose(g.Reshape(x, g.Int64s("flat", 0, d, -1)), 0, 2, 1);                  // [B, h·w, D]
            var normed = LayerNorm(g, w, "norm", g.Concat(1, pooled, positions));                           // [B, 1 + h·w, D]
            if (outputs.HasFlag(OnnxOutputs.Cls))
                Output(g, g.Gather(normed, g.Int64Scalar("cls_index", 0), 1), OnnxMetadata.OutputName(OnnxOutputs.Cls), [null, d]);
            if (outputs.HasFlag(OnnxOutputs.Patch))
                Output(g, g.Slice(normed, g.Int64s("patch_start", 1), g.Int64s("patch_end", long.MaxValue), g.Int64s("patch_axis", 1)),
                    OnnxMetadata.OutputName(OnnxOutputs.Patch), [null, n, d]);
        }
        return g.Graph;
    }

    /// <summary>get_intermediate_layers of stage <paramref name="stage"/>: pooled [B, Dᵢ] and positions [B, h'·w', Dᵢ], the map resized first when the model has a patch size, both through the final norm for the last stage.</summary>
    static void Intermediate(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, ConvNeXtConfig c, string input, string x, int stage, int j, int opset)
    {
        long d = c.Dims[stage];
        bool last = stage == ConvNeXtConfig.Stages - 1;
        var pooled = g.Reshape(One(g, "GlobalAveragePool", [x]), g.Int64s("pooled_shape", 0, d));     // [B, Dᵢ]
        string map = x;
        if (c.PatchSize is int p)
        {
            if (opset < ResizeOpset) throw new InvalidOperationException("The antialiased Resize needs opset 18.");
            var grid = g.Div(g.Shape(input, 2, 4), g.Int64s("patch_size", p, p));                        // [H/p, W/p]
            var sizes = g.Concat(0, g.Shape(x, 0, 2), grid);
            // exclude_outside: taps beyond the border are dropped and the rest renormalised, as PyTorch's antialiased
            // bilinear does; without it ONNX Runtime repeats the border pixel (0.17 off on a 4× downscale of a fixture).
            map = One(g, "Resize", [x, "", "", sizes],
                Str("mode", "linear"), Str("coordinate_transformation_mode", "half_pixel"), Int("antialias", 1), Int("exclude_outside", 1));
        }
        var patches = g.Transpose(g.Reshape(map, g.Int64s("flat", 0, d, -1)), 0, 2, 1);                  // [B, h'·w', Dᵢ]
        if (last)
        {
            pooled = LayerNorm(g, w, "norm", pooled);
            patches = LayerNorm(g, w, "norm", patches);
        }
        var (clsName, patchName) = IntermediateOutputNames(j);
        Output(g, pooled, clsName, [null, d]);
        Output(g, patches, patchName, [null, null, d]);
    }

    /// <summary>x + (γ ⊙ pwconv2(GELU(pwconv1(LN(dwconv x))))) with γ folded into pwconv2.</summary>
    static string Block(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, string prefix, string x, int dim)
    {
        var dw = Conv(g, w, prefix + "dwconv", x, kernel: 7, stride: 1, pad: 3, group: dim);
        var channelsLast = g.Transpose(dw, 0, 2, 3, 1);                                              // [B, H, W, C]
        var hidden = Linear(g, w, prefix + "pwconv1", LayerNorm(g, w, prefix + "norm", channelsLast));
        // Exact GELU, x·½·(1 + erf(x/√2)), in the node order ORT's GeluFusion matches.
        var erf = g.Erf(g.Div(hidden, g.FloatScalar("sqrt2", MathF.Sqrt(2f))));
        var gelu = g.Mul(g.Mul(hidden, g.Add(erf, g.FloatScalar("one", 1f))), g.FloatScalar("half", 0.5f));
        var branch = Linear(g, w, prefix + "pwconv2", gelu, w.TryGetValue(prefix + "gamma", out var gamma) ? gamma : null);
        return g.Add(x, g.Transpose(branch, 0, 3, 1, 2));
    }

    static string Conv(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, string name, string x, long kernel, long stride, long pad, long group) =>
        One(g, "Conv", [x, g.Initializer(name + ".weight", w[name + ".weight"]), g.Initializer(name + ".bias", w[name + ".bias"])],
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", pad, pad, pad, pad), Int("group", group));

    static string LayerNorm(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, string name, string x) =>
        g.LayerNormalization(x, g.Initializer(name + ".weight", w[name + ".weight"]), g.Initializer(name + ".bias", w[name + ".bias"]), 1e-6);

    /// <summary>LayerNorm over the channels of [B, C, H, W]: to channels-last, LayerNormalization, back.</summary>
    static string ChannelsFirstNorm(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, string name, string x) =>
        g.Transpose(LayerNorm(g, w, name, g.Transpose(x, 0, 2, 3, 1)), 0, 3, 1, 2);

    /// <summary>y = x Wᵀ + b as MatMul + Add, Wᵀ stored [in, out], with a layer scale γ folded in: (x Wᵀ + b)·γ = x (diag γ · W)ᵀ + b·γ.</summary>
    static string Linear(OnnxGraphBuilder g, IReadOnlyDictionary<string, Tensor> w, string name, string x, Tensor? gamma = null)
    {
        var weight = w[name + ".weight"].to(ScalarType.Float64);
        var bias = w[name + ".bias"].to(ScalarType.Float64);
        if (gamma is not null)
        {
            var scale = gamma.to(ScalarType.Float64);
            weight = weight * scale.unsqueeze(1);
            bias = bias * scale;
        }
        return g.Add(g.MatMul(x, g.Initializer(name + ".weight_t", weight.t())), g.Initializer(name + ".bias", bias));
    }

    static void Output(OnnxGraphBuilder g, string value, string name, long?[] dims)
    {
        g.RenameOutput(value, name);
        g.Graph.Output.Add(OnnxGraphBuilder.FloatValue(name, dims, dims.Length == 2 ? ["batch", ""] : ["batch", "patches", ""]));
    }

    static string One(OnnxGraphBuilder g, string opType, string[] inputs, params AttributeProto[] attributes) =>
        g.Node(opType, inputs, 1, attributes)[0];

    static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    static AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
