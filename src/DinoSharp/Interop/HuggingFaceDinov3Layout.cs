using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DinoSharp.Layers;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>
/// Key mapping between Meta's DINOv3 ViT layout and Hugging Face's DINOv3ViTModel, as transformers' own conversion
/// (convert_dinov3_vit_to_hf.py) defines it: separate q/k/v projections (<c>attention.{q,k,v,o}_proj</c>), no key bias
/// when Meta masks it (<c>key_bias</c> false), <c>layer_scale{1,2}.lambda1</c>, MLP <c>up_proj</c>/<c>down_proj</c> or
/// gated <c>gate_proj</c>/<c>up_proj</c>/<c>down_proj</c>, storage tokens as <c>register_tokens</c>, mask token [1, 1, D].
/// Hugging Face carries neither <c>bias_mask</c>, nor the key third of the qkv bias (masked to zero in the computation,
/// so dropping it changes nothing), nor the RoPE <c>periods</c>: it recomputes them from <c>rope_theta</c>, so an HF
/// folder is loaded with HF's periods (base^(4i/D_head) in float32), while Meta's released checkpoints carry periods
/// rounded to bfloat16 (see <see cref="RecomputedPeriodsEffect"/>).
/// </summary>
public static partial class HuggingFaceDinov3Layout
{
    static readonly (string Meta, string Hf)[] Embeddings =
    [
        ("cls_token", "embeddings.cls_token"),
        ("mask_token", "embeddings.mask_token"),
        ("storage_tokens", "embeddings.register_tokens"),
        ("patch_embed.proj.weight", "embeddings.patch_embeddings.weight"),
        ("patch_embed.proj.bias", "embeddings.patch_embeddings.bias"),
        ("norm.weight", "norm.weight"),
        ("norm.bias", "norm.bias"),
    ];

    static readonly (string Meta, string Hf)[] BlockParts =
    [
        ("norm1", "norm1"), ("norm2", "norm2"),
        ("attn.proj", "attention.o_proj"),
        ("ls1.gamma", "layer_scale1.lambda1"), ("ls2.gamma", "layer_scale2.lambda1"),
        ("mlp.fc1", "mlp.up_proj"), ("mlp.fc2", "mlp.down_proj"),
        ("mlp.w1", "mlp.gate_proj"), ("mlp.w2", "mlp.up_proj"), ("mlp.w3", "mlp.down_proj"),
    ];

    /// <summary>Throws a <see cref="CheckpointException"/> when the architecture has something DINOv3ViTModel cannot express.</summary>
    public static void CheckRepresentable(VisionTransformerConfig c)
    {
        string? problem =
            c.Family != BackboneFamily.Dinov3Vit ? "it is not a DINOv3 ViT (use the DINOv2 Hugging Face layout)"
            : c.NormLayer != NormKind.LayerNorm ? "DINOv3ViTModel has LayerNorm only, not RMSNorm"
            : c.UntieClsAndPatchNorms ? "DINOv3ViTModel has one final norm, no separate cls_norm"
            : c.InitValues == 0 ? "DINOv3ViTModel always has LayerScale"
            : c.Rope!.Base is null ? "DINOv3ViTModel computes periods from rope_theta, not from min/max periods"
            : c.Rope.NormalizeCoords != RopeCoordinateNormalization.Separate ? "DINOv3ViTModel normalises RoPE coordinates per axis (separate) only"
            : null;
        if (problem is not null)
            throw new CheckpointException($"Cannot express {BackboneCheckpoint.Describe(c)} in Hugging Face's DINOv3ViTModel layout: {problem}.");
    }

    /// <summary>
    /// Renames a Meta-layout DINOv3 state dict to DINOv3ViTModel keys: qkv split into q/k/v (the key bias dropped when
    /// masked), <c>bias_mask</c>, <c>rope_embed.periods</c> and the training-only <c>local_cls_norm</c> left out.
    /// </summary>
    /// <exception cref="CheckpointException">A key has no Hugging Face equivalent, or the architecture cannot be expressed.</exception>
    public static List<KeyValuePair<string, Tensor>> FromMeta(IEnumerable<KeyValuePair<string, Tensor>> meta, VisionTransformerConfig config)
    {
        CheckRepresentable(config);
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var (key, t) in meta)
        {
            if (key == "rope_embed.periods" || key.StartsWith("local_cls_norm.", StringComparison.Ordinal) || key.EndsWith(".qkv.bias_mask", StringComparison.Ordinal))
                continue;
            if (key == "mask_token") { result.Add(new("embeddings.mask_token", t.reshape(1, 1, -1))); continue; }
            var emb = Embeddings.FirstOrDefault(e => e.Meta == key);
            if (emb.Hf is not null) { result.Add(new(emb.Hf, t)); continue; }
            var m = HuggingFaceLayout.MetaBlockKey().Match(key);
            if (!m.Success) throw new CheckpointException($"Meta key '{key}' has no Hugging Face DINOv3ViTModel equivalent.");
            string prefix = $"layer.{m.Groups[1].Value}.";
            string rest = m.Groups[2].Value;
            if (rest is "attn.qkv.weight" or "attn.qkv.bias")
            {
                string leaf = rest["attn.qkv.".Length..];
                var qkv = t.chunk(3, 0);
                result.Add(new(prefix + "attention.q_proj." + leaf, qkv[0].contiguous()));
                if (leaf == "weight" || !config.MaskKBias) result.Add(new(prefix + "attention.k_proj." + leaf, qkv[1].contiguous()));
                result.Add(new(prefix + "attention.v_proj." + leaf, qkv[2].contiguous()));
                continue;
            }
            result.Add(new(prefix + (HuggingFaceLayout.TryMapPart(rest, BlockParts)
                ?? throw new CheckpointException($"Meta key '{key}' has no Hugging Face DINOv3ViTModel equivalent.")), t));
        }
        return result;
    }

    /// <summary>
    /// Renames a DINOv3ViTModel state dict to Meta's keys for <paramref name="config"/>: q/k/v concatenated (a zero key bias
    /// where HF has none), the bias mask (1, 0, 1) when the key bias is masked, and HF's periods, recomputed from
    /// rope_theta in float32. Unknown keys are kept as they are so that the loader reports them.
    /// </summary>
    /// <exception cref="CheckpointException">A block has only some of q, k and v.</exception>
    public static Dictionary<string, Tensor> ToMeta(IReadOnlyDictionary<string, Tensor> hf, VisionTransformerConfig config)
    {
        var result = new Dictionary<string, Tensor>();
        var parts = new Dictionary<string, Tensor?[]>();
        foreach (var (rawKey, t) in hf)
        {
            string key = rawKey.StartsWith("dinov3_vit.", StringComparison.Ordinal) ? rawKey["dinov3_vit.".Length..] : rawKey;
            if (key == "embeddings.mask_token") { result["mask_token"] = t.reshape(1, -1); continue; }
            var emb = Embeddings.FirstOrDefault(e => e.Hf == key);
            if (emb.Meta is not null) { result[emb.Meta] = t; continue; }
            var m = HfBlockKey().Match(key);
            if (!m.Success) { result[key] = t; continue; }
            string prefix = $"blocks.{m.Groups[1].Value}.";
            string rest = m.Groups[2].Value;
            var qkv = QkvKey().Match(rest);
            if (qkv.Success)
            {
                string metaKey = prefix + "attn.qkv." + qkv.Groups[2].Value;
                if (!parts.TryGetValue(metaKey, out var set)) parts[metaKey] = set = new Tensor?[3];
                set[qkv.Groups[1].Value switch { "q" => 0, "k" => 1, _ => 2 }] = t;
                continue;
            }
            // up_proj is fc1 of an MLP but w2 of a gated MLP.
            var map = config.FfnLayer == FeedForwardKind.SwiGLU ? BlockParts.Where(p => p.Meta != "mlp.fc1" && p.Meta != "mlp.fc2") : BlockParts.Where(p => !p.Meta.StartsWith("mlp.w", StringComparison.Ordinal));
            var mapped = HuggingFaceLayout.TryMapPart(rest, map.Select(p => (p.Hf, p.Meta)).ToArray());
            result[mapped is null ? key : prefix + mapped] = t;
        }
        foreach (var (key, set) in parts)
        {
            if (key.EndsWith(".bias", StringComparison.Ordinal) && set[1] is null && set[0] is { } q && set[2] is not null)
                set[1] = torch.zeros_like(q);                                     // key_bias false: the masked third
            if (set.Any(p => p is null))
                throw new CheckpointException($"Hugging Face DINOv3 checkpoint has an incomplete q/k/v set for {key}.");
            result[key] = torch.cat(set!, 0);
            if (key.EndsWith(".bias", StringComparison.Ordinal) && config.MaskKBias)
            {
                long d = set[0]!.shape[0];
                result[key[..^".bias".Length] + ".bias_mask"] = torch.cat([torch.ones(d), torch.zeros(d), torch.ones(d)]);
            }
        }
        if (config.Rope is { } rope)
            result["rope_embed.periods"] = RopePositionEmbedding.InitialPeriods(config.HeadDim, rope with { Dtype = RopeDtype.Fp32 });
        return result;
    }

    /// <summary>transformers' DINOv3ViTConfig for the backbone (config.json of a DINOv3ViTModel folder).</summary>
    public static string ConfigJson(VisionTransformerConfig c)
    {
        CheckRepresentable(c);
        bool gated = c.FfnLayer == FeedForwardKind.SwiGLU;
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("DINOv3ViTModel"),
            ["model_type"] = "dinov3_vit",
            ["hidden_size"] = c.EmbedDim,
            ["intermediate_size"] = gated ? SwiGLUFFN.HiddenWidth(c.MlpHidden, c.SwigluAlignTo) : c.MlpHidden,
            ["num_hidden_layers"] = c.Depth,
            ["num_attention_heads"] = c.NumHeads,
            ["hidden_act"] = gated ? "silu" : "gelu",
            ["use_gated_mlp"] = gated,
            ["layer_norm_eps"] = c.LayerNormEps,
            ["layerscale_value"] = c.InitValues,
            ["rope_theta"] = c.Rope!.Base,
            ["image_size"] = c.ImgSize,
            ["patch_size"] = c.PatchSize,
            ["num_channels"] = c.InChans,
            ["query_bias"] = c.QkvBias,
            ["key_bias"] = c.QkvBias && !c.MaskKBias,
            ["value_bias"] = c.QkvBias,
            ["proj_bias"] = c.ProjBias,
            ["mlp_bias"] = c.FfnBias,
            ["num_register_tokens"] = c.NumRegisterTokens,
            ["pos_embed_shift"] = c.Rope.ShiftCoords,
            ["pos_embed_jitter"] = c.Rope.JitterCoords,
            ["pos_embed_rescale"] = c.Rope.RescaleCoords,
            ["drop_path_rate"] = 0.0,
            ["torch_dtype"] = "float32",
        };
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>True when <paramref name="configJson"/> is a DINOv3ViTModel config (model_type dinov3_vit).</summary>
    public static bool IsDinov3Config(string configJson) =>
        JsonNode.Parse(configJson)?["model_type"]?.GetValue<string>() == "dinov3_vit";

    /// <summary>
    /// Our architecture for a DINOv3ViTConfig (transformers' defaults for absent fields): a masked key bias when the
    /// query has a bias and the key has none, the SwiGLU width taken from intermediate_size.
    /// </summary>
    /// <exception cref="CheckpointException">The JSON is not a DINOv3ViTConfig or asks for something we do not build.</exception>
    public static VisionTransformerConfig ConfigFromJson(string configJson, string source)
    {
        var j = JsonNode.Parse(configJson)?.AsObject() ?? throw new CheckpointException($"{source}: empty config.json.");
        if (j["model_type"]?.GetValue<string>() != "dinov3_vit")
            throw new CheckpointException($"{source}: model_type is '{j["model_type"]}', not dinov3_vit.");
        T Get<T>(string name, T fallback) => j[name] is { } v && v.GetValueKind() != JsonValueKind.Null ? v.GetValue<T>() : fallback;
        double? GetNullable(string name, double? fallback) => j.ContainsKey(name) ? (j[name] is { } v ? v.GetValue<double>() : null) : fallback;
        int d = Get("hidden_size", 384);
        int intermediate = Get("intermediate_size", 1536);
        bool gated = Get("use_gated_mlp", false);
        bool query = Get("query_bias", true), key = Get("key_bias", false), value = Get("value_bias", true);
        if (query != value || (key && !query))
            throw new CheckpointException($"{source}: query_bias {query}, key_bias {key}, value_bias {value}: only a bias on all three, on q and v (masked key bias), or on none can be loaded.");
        string act = Get("hidden_act", "gelu");
        if (act != (gated ? "silu" : "gelu"))
            throw new CheckpointException($"{source}: hidden_act '{act}' with use_gated_mlp {gated} is not a DINOv3 block (gelu MLP or silu gated MLP).");
        return new VisionTransformerConfig
        {
            Family = BackboneFamily.Dinov3Vit,
            ImgSize = Get("image_size", 224),
            PatchSize = Get("patch_size", 16),
            InChans = Get("num_channels", 3),
            EmbedDim = d,
            Depth = Get("num_hidden_layers", 12),
            NumHeads = Get("num_attention_heads", 6),
            // A gated MLP's hidden width is int(⅔ · ratio · D) aligned: ratio = 1.5 · intermediate / D gives it back exactly.
            MlpRatio = gated ? 1.5 * intermediate / d : (double)intermediate / d,
            SwigluAlignTo = gated && intermediate % 8 == 0 ? 8 : 1,
            FfnLayer = gated ? FeedForwardKind.SwiGLU : FeedForwardKind.Mlp,
            QkvBias = query,
            MaskKBias = query && !key,
            ProjBias = Get("proj_bias", true),
            FfnBias = Get("mlp_bias", true),
            InitValues = Get("layerscale_value", 1.0),
            LayerNormEps = Get("layer_norm_eps", 1e-5),
            NumRegisterTokens = Get("num_register_tokens", 0),
            Rope = new RopeConfig
            {
                Base = Get("rope_theta", 100.0),
                ShiftCoords = GetNullable("pos_embed_shift", null),
                JitterCoords = GetNullable("pos_embed_jitter", null),
                RescaleCoords = GetNullable("pos_embed_rescale", 2.0),
                Dtype = RopeDtype.Fp32,
            },
        };
    }

    /// <summary>
    /// How far Hugging Face's recomputed periods move the outputs of <paramref name="model"/> on <paramref name="images"/>:
    /// max |Δ| of the normalised cls and patch tokens between the model's own periods and base^(4i/D_head) in float32.
    /// Zero when the periods are already HF's.
    /// </summary>
    public static (double Cls, double Patch) RecomputedPeriodsEffect(DinoVisionTransformer model, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Config;
        CheckRepresentable(config);
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        bool wasTraining = model.training;
        model.eval();
        var periods = model.state_dict()["rope_embed.periods"];
        var own = periods.clone();
        var hf = RopePositionEmbedding.InitialPeriods(config.HeadDim, config.Rope! with { Dtype = RopeDtype.Fp32 });
        try
        {
            using var a = model.ForwardFeatures(images);
            periods.copy_(hf);
            using var b = model.ForwardFeatures(images);
            return (ReferenceDiff(a.ClsToken, b.ClsToken), ReferenceDiff(a.PatchTokens, b.PatchTokens));
        }
        finally
        {
            periods.copy_(own);
            model.train(wasTraining);
        }
    }

    static double ReferenceDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [GeneratedRegex(@"^layer\.(\d+)\.(.+)$")]
    private static partial Regex HfBlockKey();

    [GeneratedRegex(@"^attention\.(q|k|v)_proj\.(weight|bias)$")]
    private static partial Regex QkvKey();
}
