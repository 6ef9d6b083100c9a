using System.Text.Json;
using DinoSharp.Layers;
using DinoSharp.Models;

namespace DinoSharp.Tests.Fixtures;

/// <summary>Builds our backbone config from a manifest's <c>models.*.config</c> (dinov2 constructor arguments).</summary>
public static class FixtureModels
{
    public static bool IsVisionTransformer(JsonElement config) =>
        config.TryGetProperty("class_", out var c) && c.GetString()!.EndsWith("DinoVisionTransformer", StringComparison.Ordinal);

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
