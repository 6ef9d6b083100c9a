using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>
/// Key mapping between Meta's DINOv3 ConvNeXt and Hugging Face's <c>DINOv3ConvNextModel</c> (the renames of transformers'
/// own conversion script): <c>downsample_layers.{i}.{k}</c> → <c>stages.{i}.downsample_layers.{k}</c>, <c>stages.{i}.{j}</c> →
/// <c>stages.{i}.layers.{j}</c> with dwconv/norm/pwconv1/pwconv2 → depthwise_conv/layer_norm/pointwise_conv1/pointwise_conv2,
/// and the final <c>norm</c> → <c>layer_norm</c>. Hugging Face has no <c>norms.3</c>: Meta's module shares it with
/// <c>norm</c>, so it is dropped on the way to Hugging Face and rebuilt from <c>layer_norm</c> on the way back.
/// </summary>
public static partial class ConvNeXtHuggingFaceLayout
{
    /// <summary>The prefix of a ConvNeXt saved inside a larger transformers model (its base_model_prefix), accepted when reading.</summary>
    public const string BaseModelPrefix = "dinov3_convnext.";

    static readonly (string Meta, string Hf)[] BlockParts =
    [
        ("gamma", "gamma"), ("dwconv", "depthwise_conv"), ("norm", "layer_norm"), ("pwconv1", "pointwise_conv1"), ("pwconv2", "pointwise_conv2"),
    ];

    static readonly string SharedNorm = $"norms.{ConvNeXtConfig.Stages - 1}.";

    /// <summary>Renames a Meta-layout ConvNeXt state dict to Hugging Face's keys (tensors shared, not copied), in input order.</summary>
    /// <exception cref="CheckpointException">A key has no Hugging Face equivalent, or <c>norms.3</c> differs from <c>norm</c> (Hugging Face could not hold both).</exception>
    public static List<KeyValuePair<string, Tensor>> FromMeta(IEnumerable<KeyValuePair<string, Tensor>> meta)
    {
        ArgumentNullException.ThrowIfNull(meta);
        var entries = meta.ToList();
        var byKey = entries.ToDictionary(kv => kv.Key, kv => kv.Value);
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var (key, t) in entries)
        {
            if (key.StartsWith(SharedNorm, StringComparison.Ordinal))
            {
                string twin = "norm." + key[SharedNorm.Length..];
                if (!byKey.TryGetValue(twin, out var norm) || !Identical(norm, t))
                    throw new CheckpointException($"Meta key '{key}' differs from '{twin}': Hugging Face's DINOv3ConvNextModel has one final LayerNorm for both.");
                continue;
            }
            result.Add(new(ToHf(key) ?? throw new CheckpointException($"Meta key '{key}' has no Hugging Face DINOv3ConvNextModel equivalent."), t));
        }
        return result;
    }

    /// <summary>
    /// Renames a Hugging Face DINOv3ConvNextModel state dict (optionally under <see cref="BaseModelPrefix"/>) to Meta's keys;
    /// <c>layer_norm.*</c> becomes both <c>norm.*</c> and <c>norms.3.*</c>. Unknown keys are kept as they are, so that the
    /// loader reports them as unexpected.
    /// </summary>
    public static Dictionary<string, Tensor> ToMeta(IReadOnlyDictionary<string, Tensor> hf)
    {
        ArgumentNullException.ThrowIfNull(hf);
        var result = new Dictionary<string, Tensor>();
        foreach (var (raw, t) in hf)
        {
            string key = raw.StartsWith(BaseModelPrefix, StringComparison.Ordinal) ? raw[BaseModelPrefix.Length..] : raw;
            string? meta = ToMetaKey(key);
            result[meta ?? key] = t;
            if (meta is not null && meta.StartsWith("norm.", StringComparison.Ordinal))
                result[SharedNorm + meta["norm.".Length..]] = t;
        }
        return result;
    }

    /// <summary>A transformers DINOv3ConvNextConfig (config.json) for <paramref name="c"/>.</summary>
    /// <exception cref="CheckpointException">The model has no layer scale, which DINOv3ConvNextModel always has.</exception>
    public static string ConfigJson(ConvNeXtConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.LayerScaleInitValue <= 0)
            throw new CheckpointException("A ConvNeXt without layer scale (gamma) has no Hugging Face DINOv3ConvNextModel equivalent: that model always has gamma.");
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("DINOv3ConvNextModel"),
            ["model_type"] = "dinov3_convnext",
            ["num_channels"] = c.InChans,
            ["hidden_sizes"] = new JsonArray([.. c.Dims.Select(d => (JsonNode)d)]),
            ["depths"] = new JsonArray([.. c.Depths.Select(d => (JsonNode)d)]),
            ["hidden_act"] = "gelu",
            ["initializer_range"] = 0.02,
            ["layer_norm_eps"] = LayerNormEps,
            ["layer_scale_init_value"] = c.LayerScaleInitValue,
            ["drop_path_rate"] = c.DropPathRate,
            ["image_size"] = 224,
            ["torch_dtype"] = "float32",
        };
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// Our config for a DINOv3ConvNextConfig's config.json. Hugging Face does not resize intermediate maps, so
    /// <see cref="ConvNeXtConfig.PatchSize"/> is <paramref name="patchSize"/> (null: as Hugging Face).
    /// </summary>
    /// <exception cref="CheckpointException">The file is not a DINOv3ConvNextConfig, or sets what the port does not compute (another activation, LayerNorm eps, stage count).</exception>
    public static ConvNeXtConfig ParseConfig(string json, string source, int? patchSize = null)
    {
        JsonObject config;
        try
        {
            config = JsonNode.Parse(json)?.AsObject() ?? throw new CheckpointException($"{source}: empty config.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new CheckpointException($"{source}: not a JSON object ({e.Message.Split('\n')[0]}).", e);
        }
        string? type = config["model_type"]?.GetValue<string>();
        if (type != "dinov3_convnext")
            throw new CheckpointException($"{source}: model_type is '{type ?? "missing"}', not 'dinov3_convnext' (a DINOv3 ConvNeXt folder from transformers).");
        string act = config["hidden_act"]?.GetValue<string>() ?? "gelu";
        if (act != "gelu")
            throw new CheckpointException($"{source}: hidden_act '{act}' is not supported; DINOv3's ConvNeXt uses gelu.");
        double eps = config["layer_norm_eps"]?.GetValue<double>() ?? LayerNormEps;
        if (eps != LayerNormEps)
            throw new CheckpointException($"{source}: layer_norm_eps {eps.ToString(CultureInfo.InvariantCulture)} is not supported; DINOv3's ConvNeXt uses 1e-6.");
        int[] Ints(string name, int[] fallback) => config[name] is JsonArray a ? [.. a.Select(v => v!.GetValue<int>())] : fallback;
        var result = new ConvNeXtConfig
        {
            InChans = config["num_channels"]?.GetValue<int>() ?? 3,
            Dims = Ints("hidden_sizes", [96, 192, 384, 768]),
            Depths = Ints("depths", [3, 3, 9, 3]),
            LayerScaleInitValue = config["layer_scale_init_value"]?.GetValue<double>() ?? 1e-6,
            DropPathRate = config["drop_path_rate"]?.GetValue<double>() ?? 0.0,
            PatchSize = patchSize,
        };
        try
        {
            return result.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"{source}: {e.Message}", e);
        }
    }

    /// <summary>The eps of every LayerNorm of DINOv3's ConvNeXt (and transformers' default).</summary>
    const double LayerNormEps = 1e-6;

    static bool Identical(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var same = a.eq(b).all();
        return same.item<bool>();
    }

    static string? ToHf(string key)
    {
        var m = MetaDownsample().Match(key);
        if (m.Success) return $"stages.{m.Groups[1].Value}.downsample_layers.{m.Groups[2].Value}";
        m = MetaBlock().Match(key);
        if (m.Success)
            return MapPart(m.Groups[3].Value, BlockParts) is string part ? $"stages.{m.Groups[1].Value}.layers.{m.Groups[2].Value}.{part}" : null;
        return key.StartsWith("norm.", StringComparison.Ordinal) ? "layer_norm." + key["norm.".Length..] : null;
    }

    static string? ToMetaKey(string key)
    {
        var m = HfDownsample().Match(key);
        if (m.Success) return $"downsample_layers.{m.Groups[1].Value}.{m.Groups[2].Value}";
        m = HfBlock().Match(key);
        if (m.Success)
            return MapPart(m.Groups[3].Value, BlockParts.Select(p => (p.Hf, p.Meta))) is string part ? $"stages.{m.Groups[1].Value}.{m.Groups[2].Value}.{part}" : null;
        return key.StartsWith("layer_norm.", StringComparison.Ordinal) ? "norm." + key["layer_norm.".Length..] : null;
    }

    static string? MapPart(string rest, IEnumerable<(string From, string To)> map)
    {
        foreach (var (from, to) in map)
            if (rest == from || rest.StartsWith(from + ".", StringComparison.Ordinal))
                return to + rest[from.Length..];
        return null;
    }

    [GeneratedRegex(@"^downsample_layers\.(\d+)\.(\d+\..+)$")]
    private static partial Regex MetaDownsample();

    [GeneratedRegex(@"^stages\.(\d+)\.(\d+)\.(.+)$")]
    private static partial Regex MetaBlock();

    [GeneratedRegex(@"^stages\.(\d+)\.downsample_layers\.(\d+\..+)$")]
    private static partial Regex HfDownsample();

    [GeneratedRegex(@"^stages\.(\d+)\.layers\.(\d+)\.(.+)$")]
    private static partial Regex HfBlock();
}
