using System.Text.Json;
using DinoSharp.Heads;
using DinoSharp.Models;

namespace DinoSharp.Tests.Fixtures;

/// <summary>Builds our ConvNeXt and DINOv3 head from a DINOv3 manifest's <c>models.*.config</c> (the reference constructors' arguments).</summary>
public static class V3FixtureModels
{
    public static bool IsConvNeXt(JsonElement config) => ClassIs(config, "convnext.ConvNeXt");

    public static bool IsDinoHead(JsonElement config) => ClassIs(config, "dino_head.DINOHead");

    public static ConvNeXtConfig ConvNeXtConfig(JsonElement c) => new()
    {
        InChans = Int(c, "in_chans") ?? 3,
        Depths = c.GetProperty("depths").EnumerateArray().Select(d => d.GetInt32()).ToArray(),
        Dims = c.GetProperty("dims").EnumerateArray().Select(d => d.GetInt32()).ToArray(),
        DropPathRate = Double(c, "drop_path_rate") ?? 0.0,
        LayerScaleInitValue = Double(c, "layer_scale_init_value") ?? 1e-6,
        PatchSize = Int(c, "patch_size"),
    };

    public static DinoV3Head Head(JsonElement c)
    {
        if (c.TryGetProperty("use_bn", out var bn) && bn.ValueKind == JsonValueKind.True)
            throw new NotSupportedException("DINOHead with use_bn=True (BatchNorm in the MLP) is not ported.");
        return new DinoV3Head(
            c.GetProperty("in_dim").GetInt32(),
            c.GetProperty("out_dim").GetInt32(),
            Int(c, "hidden_dim") ?? 2048,
            Int(c, "bottleneck_dim") ?? 256,
            Int(c, "nlayers") ?? 3,
            !c.TryGetProperty("mlp_bias", out var bias) || bias.ValueKind != JsonValueKind.False);
    }

    /// <summary>The manifest's <c>models.&lt;name&gt;.state_dict</c> as (key, "d0,d1,…") in order.</summary>
    public static List<(string Key, string Shape)> StateDict(ReferenceFixtures fx, string model) =>
        fx.Manifest.GetProperty("models").GetProperty(model).GetProperty("state_dict").EnumerateArray()
            .Select(e => (e.GetProperty("key").GetString()!, string.Join(",", e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))))
            .ToList();

    static bool ClassIs(JsonElement config, string suffix) =>
        config.TryGetProperty("class_", out var c) && c.GetString()!.EndsWith(suffix, StringComparison.Ordinal);

    static int? Int(JsonElement c, string name) =>
        c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    static double? Double(JsonElement c, string name) =>
        c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
