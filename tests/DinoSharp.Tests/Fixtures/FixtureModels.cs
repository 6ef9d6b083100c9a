using System.Text.Json;
using DinoSharp.Layers;
using DinoSharp.Models;

namespace DinoSharp.Tests.Fixtures;

/// <summary>Builds our backbone config from a manifest's <c>models.*.config</c> (dinov2 or dinov3 constructor arguments).</summary>
public static class FixtureModels
{
    /// <summary>A DINOv2 ViT (class_ dinov2.…DinoVisionTransformer, or a bare DinoVisionTransformer in the DINOv2 folder).</summary>
    public static bool IsVisionTransformer(JsonElement config) =>
        config.TryGetProperty("class_", out var c) && c.GetString()!.EndsWith("DinoVisionTransformer", StringComparison.Ordinal)
        && !IsDinov3VisionTransformer(config);

    /// <summary>A DINOv3 ViT: class_ dinov3.models.vision_transformer.DinoVisionTransformer.</summary>
    public static bool IsDinov3VisionTransformer(JsonElement config) =>
        config.TryGetProperty("class_", out var c) && c.GetString() is { } name
        && name.StartsWith("dinov3.", StringComparison.Ordinal) && name.EndsWith(".DinoVisionTransformer", StringComparison.Ordinal);

    /// <summary>
    /// dinov3's DinoVisionTransformer constructor arguments → our config, with the reference class's defaults for absent
    /// arguments (note pos_embed_rope_dtype defaults to bf16 there, and pos_embed_rope_base to 100 unless given as null).
    /// </summary>
    public static VisionTransformerConfig Dinov3BackboneConfig(JsonElement c)
    {
        string ffn = GetString(c, "ffn_layer", "mlp");
        string norm = GetString(c, "norm_layer", "layernorm");
        double? baseValue = c.TryGetProperty("pos_embed_rope_base", out var b) ? (b.ValueKind == JsonValueKind.Null ? null : b.GetDouble()) : 100.0;
        return new VisionTransformerConfig
        {
            Family = BackboneFamily.Dinov3Vit,
            ImgSize = Get(c, "img_size", 224),
            PatchSize = Get(c, "patch_size", 16),
            InChans = Get(c, "in_chans", 3),
            EmbedDim = Get(c, "embed_dim", 768),
            Depth = Get(c, "depth", 12),
            NumHeads = Get(c, "num_heads", 12),
            MlpRatio = Get(c, "ffn_ratio", 4.0),
            QkvBias = Get(c, "qkv_bias", true),
            ProjBias = Get(c, "proj_bias", true),
            FfnBias = Get(c, "ffn_bias", true),
            InitValues = Get(c, "layerscale_init", 0.0),
            DropPathRate = Get(c, "drop_path_rate", 0.0),
            NumRegisterTokens = Get(c, "n_storage_tokens", 0),
            FfnLayer = ffn == "mlp" ? FeedForwardKind.Mlp
                : ffn.StartsWith("swiglu", StringComparison.Ordinal) ? FeedForwardKind.SwiGLU
                : throw new NotSupportedException($"ffn_layer '{ffn}'"),
            SwigluAlignTo = ffn.StartsWith("swiglu", StringComparison.Ordinal) && ffn.Length > "swiglu".Length ? int.Parse(ffn["swiglu".Length..]) : 8,
            NormLayer = norm == "rmsnorm" ? NormKind.RmsNorm : NormKind.LayerNorm,
            LayerNormEps = norm switch { "layernorm" => 1e-6, "layernormbf16" => 1e-5, "rmsnorm" => 1e-5, _ => throw new NotSupportedException($"norm_layer '{norm}'") },
            MaskKBias = Get(c, "mask_k_bias", false),
            UntieClsAndPatchNorms = Get(c, "untie_cls_and_patch_norms", false),
            UntieGlobalAndLocalClsNorm = Get(c, "untie_global_and_local_cls_norm", false),
            Rope = new RopeConfig
            {
                Base = baseValue,
                MinPeriod = GetNullable(c, "pos_embed_rope_min_period"),
                MaxPeriod = GetNullable(c, "pos_embed_rope_max_period"),
                NormalizeCoords = GetString(c, "pos_embed_rope_normalize_coords", "separate") switch
                {
                    "separate" => RopeCoordinateNormalization.Separate,
                    "min" => RopeCoordinateNormalization.Min,
                    "max" => RopeCoordinateNormalization.Max,
                    var other => throw new NotSupportedException($"pos_embed_rope_normalize_coords '{other}'"),
                },
                ShiftCoords = GetNullable(c, "pos_embed_rope_shift_coords"),
                JitterCoords = GetNullable(c, "pos_embed_rope_jitter_coords"),
                RescaleCoords = GetNullable(c, "pos_embed_rope_rescale_coords"),
                Dtype = GetString(c, "pos_embed_rope_dtype", "bf16") switch
                {
                    "fp32" => RopeDtype.Fp32,
                    "bf16" => RopeDtype.Bf16,
                    "fp16" => RopeDtype.Fp16,
                    var other => throw new NotSupportedException($"pos_embed_rope_dtype '{other}'"),
                },
            },
        };
    }

    static string GetString(JsonElement c, string name, string fallback) =>
        c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : fallback;

    static double? GetNullable(JsonElement c, string name) =>
        c.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.GetDouble() : null;

    public static VisionTransformerConfig BackboneConfig(JsonElement c)
    {
        string ffn = c.GetProperty("ffn_layer").GetString()!;
        return new VisionTransformerConfig
        {
            ImgSize = c.GetProperty("img_size").GetInt32(),
            PatchSize = c.GetProperty("patch_size").GetInt32(),
            InChans = Get(c, "in_chans", 3),
            EmbedDim = c.GetProperty("embed_dim").GetInt32(),
            Depth = c.GetProperty("depth").GetInt32(),
            NumHeads = c.GetProperty("num_heads").GetInt32(),
            MlpRatio = c.GetProperty("mlp_ratio").GetDouble(),
            QkvBias = Get(c, "qkv_bias", true),
            ProjBias = Get(c, "proj_bias", true),
            FfnBias = Get(c, "ffn_bias", true),
            InitValues = Get(c, "init_values", 1e-5),
            NumRegisterTokens = Get(c, "num_register_tokens", 0),
            FfnLayer = ffn.StartsWith("swiglu", StringComparison.Ordinal) ? FeedForwardKind.SwiGLU
                : ffn == "mlp" ? FeedForwardKind.Mlp : throw new NotSupportedException($"ffn_layer '{ffn}'"),
            InterpolateAntialias = Get(c, "interpolate_antialias", false),
            InterpolateOffset = Get(c, "interpolate_offset", 0.1),
            LayerNormEps = Get(c, "layernorm_eps", 1e-6),
        };
    }

    static T Get<T>(JsonElement c, string name, T fallback)
    {
        if (!c.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        return (T)(object)(typeof(T) == typeof(int) ? v.GetInt32() : typeof(T) == typeof(double) ? v.GetDouble() : (object)v.GetBoolean());
    }
}
