using System.Text.Json;
using System.Text.RegularExpressions;
using DinoSharp.Layers;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>
/// Key mapping between Meta's layout and Hugging Face's Dinov2Model: the fused qkv matrix is split into query/key/value,
/// LayerScale gammas become layer_scale{1,2}.lambda1, SwiGLU's w12/w3 become weights_in/weights_out.
/// </summary>
public static partial class HuggingFaceLayout
{
    static readonly (string Meta, string Hf)[] Embeddings =
    [
        ("cls_token", "embeddings.cls_token"),
        ("mask_token", "embeddings.mask_token"),
        ("pos_embed", "embeddings.position_embeddings"),
        ("register_tokens", "embeddings.register_tokens"),
        ("patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight"),
        ("patch_embed.proj.bias", "embeddings.patch_embeddings.projection.bias"),
        ("norm.weight", "layernorm.weight"),
        ("norm.bias", "layernorm.bias"),
    ];

    static readonly (string Meta, string Hf)[] BlockParts =
    [
        ("norm1", "norm1"), ("norm2", "norm2"),
        ("attn.proj", "attention.output.dense"),
        ("ls1.gamma", "layer_scale1.lambda1"), ("ls2.gamma", "layer_scale2.lambda1"),
        ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2"),
        ("mlp.w12", "mlp.weights_in"), ("mlp.w3", "mlp.weights_out"),
    ];

    /// <summary>Renames a Meta-layout state dict to Hugging Face's Dinov2Model keys, splitting each fused qkv weight [3D, D] and bias [3D] into query, key and value.</summary>
    /// <param name="meta">Meta keys (<c>blocks.{i}.attn.qkv.weight</c>, <c>pos_embed</c>, …) and their tensors; tensors are shared, not copied, except the qkv parts.</param>
    /// <param name="depth">Number of blocks of the model.</param>
    /// <returns>The Hugging Face keys and tensors, in input order.</returns>
    /// <exception cref="CheckpointException">A key has no Hugging Face equivalent.</exception>
    public static List<KeyValuePair<string, Tensor>> FromMeta(IEnumerable<KeyValuePair<string, Tensor>> meta, int depth)
    {
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var (key, t) in meta)
        {
            var emb = Embeddings.FirstOrDefault(e => e.Meta == key);
            if (emb.Hf is not null) { result.Add(new(emb.Hf, t)); continue; }
            var m = MetaBlockKey().Match(key);
            if (!m.Success) throw new CheckpointException($"Meta key '{key}' has no Hugging Face equivalent.");
            string prefix = $"encoder.layer.{m.Groups[1].Value}.";
            string rest = m.Groups[2].Value;
            if (rest.StartsWith("attn.qkv.", StringComparison.Ordinal))
            {
                string leaf = rest["attn.qkv.".Length..];
                var qkv = t.chunk(3, 0);
                result.Add(new(prefix + "attention.attention.query." + leaf, qkv[0].contiguous()));
                result.Add(new(prefix + "attention.attention.key." + leaf, qkv[1].contiguous()));
                result.Add(new(prefix + "attention.attention.value." + leaf, qkv[2].contiguous()));
                continue;
            }
            result.Add(new(prefix + (TryMapPart(rest, BlockParts.Select(p => (p.Meta, p.Hf)))
                ?? throw new CheckpointException($"Meta key '{key}' has no Hugging Face equivalent.")), t));
        }
        return result;
    }

    /// <summary>Renames a Hugging Face Dinov2Model state dict to Meta's keys, concatenating query, key and value back into one qkv tensor per block. Unknown keys are kept as they are so that the loader reports them as unexpected.</summary>
    /// <exception cref="CheckpointException">A block has only some of query, key and value.</exception>
    public static Dictionary<string, Tensor> ToMeta(IReadOnlyDictionary<string, Tensor> hf)
    {
        var result = new Dictionary<string, Tensor>();
        var qkvParts = new Dictionary<string, Tensor?[]>();
        foreach (var (key, t) in hf)
        {
            var emb = Embeddings.FirstOrDefault(e => e.Hf == key);
            if (emb.Meta is not null) { result[emb.Meta] = t; continue; }
            var m = HfBlockKey().Match(key);
            if (!m.Success) { result[key] = t; continue; }   // left as is: reported as unexpected by the loader
            string prefix = $"blocks.{m.Groups[1].Value}.";
            string rest = m.Groups[2].Value;
            var qkv = QkvKey().Match(rest);
            if (qkv.Success)
            {
                string metaKey = prefix + "attn.qkv." + qkv.Groups[2].Value;
                if (!qkvParts.TryGetValue(metaKey, out var parts)) qkvParts[metaKey] = parts = new Tensor?[3];
                parts[qkv.Groups[1].Value switch { "query" => 0, "key" => 1, _ => 2 }] = t;
                continue;
            }
            var mapped = TryMapPart(rest, BlockParts.Select(p => (p.Hf, p.Meta)));
            result[mapped is null ? key : prefix + mapped] = t;   // an unknown key stays as is: the loader reports it
        }
        foreach (var (key, parts) in qkvParts)
        {
            if (parts.Any(p => p is null))
                throw new CheckpointException($"Hugging Face checkpoint has an incomplete query/key/value set for {key}.");
            result[key] = torch.cat(parts!, 0);
        }
        return result;
    }

    /// <summary>A transformers Dinov2Config (or Dinov2WithRegistersConfig) for the backbone.</summary>
    public static string ConfigJson(VisionTransformerConfig c)
    {
        bool reg = c.NumRegisterTokens > 0;
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { reg ? "Dinov2WithRegistersModel" : "Dinov2Model" },
            ["model_type"] = reg ? "dinov2_with_registers" : "dinov2",
            ["hidden_size"] = c.EmbedDim,
            ["num_hidden_layers"] = c.Depth,
            ["num_attention_heads"] = c.NumHeads,
            ["mlp_ratio"] = c.MlpRatio,
            ["patch_size"] = c.PatchSize,
            ["image_size"] = c.ImgSize,
            ["num_channels"] = c.InChans,
            ["hidden_act"] = "gelu",
            ["layer_norm_eps"] = c.LayerNormEps,
            ["layerscale_value"] = c.InitValues,
            ["qkv_bias"] = c.QkvBias,
            ["use_swiglu_ffn"] = c.FfnLayer == FeedForwardKind.SwiGLU,
            ["drop_path_rate"] = 0.0,
            ["torch_dtype"] = "float32",
        };
        if (reg) config["num_register_tokens"] = c.NumRegisterTokens;
        return JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>True when <paramref name="path"/> is a Hugging Face DINOv2 config.json (model_type dinov2 or dinov2_with_registers), not a training config.</summary>
    public static bool IsHuggingFaceConfig(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model_type", out _);
        }
        catch (Exception e) when (e is JsonException or IOException) { return false; }
    }

    /// <summary>
    /// The architecture a Hugging Face folder's config.json describes (Dinov2Model or Dinov2WithRegistersModel): sizes,
    /// FFN kind, registers and LayerNorm eps; the position-embedding resize is the one of the matching Meta models
    /// (antialiased without offset with registers, dinov2's 0.1 offset without).
    /// </summary>
    /// <exception cref="CheckpointException">The file is not a DINOv2 config.json.</exception>
    public static VisionTransformerConfig ReadConfig(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not valid JSON ({e.Message}).", e);
        }
        string type = root.TryGetProperty("model_type", out var t) ? t.GetString() ?? "" : "";
        if (type is not ("dinov2" or "dinov2_with_registers"))
            throw new CheckpointException($"{path}: model_type '{type}' is not a DINOv2 backbone (dinov2 or dinov2_with_registers); describe the weights with a model.json (--arch-file) instead.");
        int Int(string key, int? fallback = null) =>
            root.TryGetProperty(key, out var v) && v.TryGetInt32(out int i) ? i
            : fallback ?? throw new CheckpointException($"{path}: no '{key}', which a DINOv2 config.json has.");
        double Double(string key, double fallback) => root.TryGetProperty(key, out var v) && v.TryGetDouble(out double d) ? d : fallback;
        bool Bool(string key, bool fallback) => root.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
        int registers = Int("num_register_tokens", type == "dinov2_with_registers" ? 4 : 0);
        var config = new VisionTransformerConfig
        {
            EmbedDim = Int("hidden_size"),
            Depth = Int("num_hidden_layers"),
            NumHeads = Int("num_attention_heads"),
            MlpRatio = Double("mlp_ratio", 4.0),
            PatchSize = Int("patch_size"),
            ImgSize = Int("image_size"),
            InChans = Int("num_channels", 3),
            LayerNormEps = Double("layer_norm_eps", 1e-6),
            InitValues = Double("layerscale_value", 1.0),
            QkvBias = Bool("qkv_bias", true),
            FfnLayer = Bool("use_swiglu_ffn", false) ? FeedForwardKind.SwiGLU : FeedForwardKind.Mlp,
            NumRegisterTokens = registers,
            InterpolateAntialias = registers > 0,
            InterpolateOffset = registers > 0 ? 0.0 : 0.1,
        };
        try { return config.Validate(); }
        catch (ArgumentException e) { throw new CheckpointException($"{path}: {e.Message}", e); }
    }

    /// <summary>The key part <paramref name="rest"/> renamed by the first (from, to) pair that is it or a prefix of it ending at a dot; null when none is.</summary>
    internal static string? TryMapPart(string rest, IEnumerable<(string From, string To)> map)
    {
        foreach (var (from, to) in map)
            if (rest == from || rest.StartsWith(from + ".", StringComparison.Ordinal))
                return to + rest[from.Length..];
        return null;
    }

    [GeneratedRegex(@"^blocks\.(\d+)\.(.+)$")]
    internal static partial Regex MetaBlockKey();

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.(.+)$")]
    private static partial Regex HfBlockKey();

    [GeneratedRegex(@"^attention\.attention\.(query|key|value)\.(weight|bias)$")]
    private static partial Regex QkvKey();
}
