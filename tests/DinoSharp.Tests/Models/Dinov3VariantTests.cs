using System.Text.Json;
using DinoSharp.Layers;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;

namespace DinoSharp.Tests.Models;

/// <summary>
/// The named DINOv3 ViTs against variants.json (key list in order with shapes, and parameter count of the reference's
/// hub models), checked through <see cref="StateDictLayout"/> so that the 7B needs no memory; the layout description is
/// itself checked against the real network's state dict on every variant small enough to build.
/// </summary>
public sealed class Dinov3VariantTests
{
    static JsonElement Variants()
    {
        var path = Path.Combine(ReferenceFixtures.V3.Folder, "variants.json");
        if (!File.Exists(path))
            path = Path.Combine(ReferenceFixtures.RepositoryRoot(), "tests", "fixtures", "dinov3-reference", "variants.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("variants");
    }

    /// <summary>The ViTs of variants.json: every entry whose keys include an attention qkv (the rest are ConvNeXts).</summary>
    public static TheoryData<string> ReleasedVisionTransformers()
    {
        var data = new TheoryData<string>();
        foreach (var v in Variants().EnumerateObject())
            if (v.Value.GetProperty("state_dict").EnumerateArray().Any(e => e[0].GetString()!.EndsWith(".attn.qkv.weight", StringComparison.Ordinal)))
                data.Add(v.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(ReleasedVisionTransformers))]
    public void NamedVariantHasTheReferenceKeysShapesAndParameterCount(string name)
    {
        var reference = Variants().GetProperty(name);
        var expected = reference.GetProperty("state_dict").EnumerateArray()
            .Select(e => $"{e[0].GetString()} [{string.Join(", ", e[1].EnumerateArray().Select(x => x.GetInt64()))}]").ToList();
        var config = VisionTransformerVariants.Get(name);
        Assert.Equal(BackboneFamily.Dinov3Vit, config.Family);
        var layout = StateDictLayout.Of(config);
        Assert.Equal(expected, layout.Select(e => e.ToString()).ToList());
        Assert.Equal(reference.GetProperty("state_dict_entries").GetInt32(), layout.Count);
        Assert.Equal(reference.GetProperty("parameters").GetInt64(), StateDictLayout.ParameterCount(config));
    }

    public static TheoryData<string> BuildableVariants() =>
        new(["dinov3_vits16", "dinov3_vits16plus", "vit_small", "vit_small_reg4", "vit_pico_p14", "vit_femto_p14", "vit_pico_p8"]);

    [Theory]
    [MemberData(nameof(BuildableVariants))]
    public void LayoutIsTheRealModelsStateDict(string name) => AssertLayoutMatchesModel(VisionTransformerVariants.Get(name));

    /// <summary>Options no released variant combines: RMSNorm, no LayerScale, min/max periods, swiglu64, untied norms, no biases, DINOv2 SwiGLU.</summary>
    [Fact]
    public void LayoutIsTheRealModelsStateDictForOtherOptions()
    {
        var small = VisionTransformerVariants.Get("dinov3_vits16") with { EmbedDim = 64, Depth = 2, NumHeads = 2 };
        AssertLayoutMatchesModel(small with
        {
            NormLayer = NormKind.RmsNorm, InitValues = 0, FfnLayer = FeedForwardKind.SwiGLU, SwigluAlignTo = 64,
            UntieClsAndPatchNorms = true, UntieGlobalAndLocalClsNorm = true, NumRegisterTokens = 0,
            Rope = new RopeConfig { Base = null, MinPeriod = 0.5, MaxPeriod = 20 },
        });
        AssertLayoutMatchesModel(small with { QkvBias = false, ProjBias = false, FfnBias = false, PatchSize = 8 });
        AssertLayoutMatchesModel(VisionTransformerVariants.Get("vit_pico_p4") with { FfnLayer = FeedForwardKind.SwiGLU, InitValues = 0 });
    }

    [Fact]
    public void FixtureModelsHaveTheManifestKeyOrderAndShapes()
    {
        var fx = ReferenceFixtures.V3;
        int checkedModels = 0;
        foreach (var (name, config, _) in fx.Models().Where(m => FixtureModels.IsDinov3VisionTransformer(m.Config)))
        {
            var expected = fx.Manifest.GetProperty("models").GetProperty(name).GetProperty("state_dict").EnumerateArray()
                .Select(e => $"{e.GetProperty("key").GetString()} [{string.Join(", ", e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))}]")
                .ToList();
            var cfg = FixtureModels.Dinov3BackboneConfig(config);
            Assert.Equal(expected, StateDictLayout.Of(cfg).Select(e => e.ToString()).ToList());
            AssertLayoutMatchesModel(cfg);
            checkedModels++;
        }
        Assert.True(checkedModels > 0, $"No DINOv3 ViT in {fx.Folder}.");
    }

    static void AssertLayoutMatchesModel(VisionTransformerConfig config)
    {
        using var vit = new DinoVisionTransformer(config);
        var layout = StateDictLayout.Of(config);
        Assert.Equal(layout.Select(e => e.ToString()).ToList(),
            vit.state_dict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]").ToList());
        Assert.Equal(vit.parameters().Sum(p => p.numel()), StateDictLayout.ParameterCount(config));
        Assert.Equal(vit.named_buffers().Select(b => b.name).Order(), layout.Where(e => e.IsBuffer).Select(e => e.Key).Order());
    }

    [Fact]
    public void FamiliesListTheirOwnVariants()
    {
        Assert.Contains("dinov3_vit7b16", VisionTransformerVariants.NamesOf(BackboneFamily.Dinov3Vit));
        Assert.DoesNotContain("vit_small", VisionTransformerVariants.NamesOf(BackboneFamily.Dinov3Vit));
        Assert.Contains("vit_small", VisionTransformerVariants.NamesOf(BackboneFamily.Dinov2));
    }

    /// <summary>
    /// What embed, knn and visualize call on a backbone works on a DINOv3 one: every feature kind (the last-4-blocks one
    /// through get_intermediate_layers) and the cls attention maps, which rotate q and k as the forward does.
    /// </summary>
    [Fact]
    public void EveryFeatureKindAndAttentionMapsWorkOnADinov3Backbone()
    {
        var config = VisionTransformerVariants.Get("dinov3_vits16") with { EmbedDim = 64, NumHeads = 2, Depth = 4, InitValues = 1 };
        using var vit = new DinoVisionTransformer(config, new torch.Generator(5));
        vit.eval();
        using var extractor = new FeatureExtractor(vit, ModelResolver.PreprocessingFor(64));
        using var x = torch.randn(2, 3, 64, 48, generator: new torch.Generator(6));
        using var _ = torch.inference_mode();
        foreach (var kind in Enum.GetValues<FeatureKind>())
        {
            using var e = extractor.Embed(x, kind);
            Assert.Equal(2, e.shape[0]);
            Assert.True(e.isfinite().all().item<bool>(), $"{kind}: not finite");
        }
        using var maps = extractor.ClsAttentionMaps(x);
        Assert.True(maps.isfinite().all().item<bool>());
        // The attention-map path (explicit softmax) computes the last block's output as the fused forward does: same rotated q and k.
        var tokens = vit.BlockOutputs(x);
        Assert.Equal(5, tokens.Count);
        var last = vit.named_children().Single(c => c.name == "blocks").module.children().Cast<DinoSharp.Layers.Block>().Last();
        using var rope = vit.RopeEmbedding(64 / 16, 48 / 16);
        var (output, weights) = last.ForwardWithAttention(tokens[3], rope);
        Assert.Equal(new long[] { 2, 2, 1 + 4 + 12, 1 + 4 + 12 }, weights.shape);
        Assert.True((output - tokens[4]).abs().max().item<float>() < 1e-5, "attention maps use other q/k than the forward");
        using var withoutRope = last.ForwardWithAttention(tokens[3]).Output;
        Assert.True((withoutRope - tokens[4]).abs().max().item<float>() > 1e-4, "RoPE made no difference to the last block");
    }
}
