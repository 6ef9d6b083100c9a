using DinoSharp.Interop;
using DinoSharp.Layers;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Interop;

/// <summary>
/// Hugging Face's DINOv3ViTModel layout: Meta → HF → Meta keeps every tensor HF carries bit for bit and rebuilds the rest
/// (zero key bias, (1, 0, 1) mask, HF's periods); HF → Meta → HF is bit-identical; the output change that HF's
/// recomputed periods cause on the fixtures is measured and reported.
/// </summary>
public sealed class Dinov3HuggingFaceTests(ITestOutputHelper output) : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-v3hf-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static bool Representable(VisionTransformerConfig c)
    {
        try { HuggingFaceDinov3Layout.CheckRepresentable(c); return true; }
        catch (CheckpointException) { return false; }
    }

    [Fact]
    public void MetaToHuggingFaceToMetaKeepsWhatHuggingFaceCarriesAndReportsThePeriodsEffect()
    {
        var fx = ReferenceFixtures.V3;
        int roundTrips = 0;
        foreach (var (name, configJson, files) in fx.Models().Where(m => FixtureModels.IsDinov3VisionTransformer(m.Config)))
        {
            var config = FixtureModels.Dinov3BackboneConfig(configJson);
            using var vit = new DinoVisionTransformer(config);
            BackboneCheckpoint.Load(vit, fx.PathOf(files[0]), CheckpointLayout.Meta);
            vit.eval();
            var folder = Path.Combine(dir, name);
            if (!Representable(config))
            {
                var e = Assert.Throws<CheckpointException>(() => BackboneCheckpoint.SaveHuggingFace(vit, folder));
                Assert.DoesNotContain('\n', e.Message);
                output.WriteLine($"{name}: not expressible in DINOv3ViTModel: {e.Message}");
                continue;
            }
            string? note = BackboneCheckpoint.SaveHuggingFace(vit, folder);
            output.WriteLine(note ?? $"{name}: periods already HF's");
            using var resolved = ModelResolver.OpenBackbone(folder);
            var back = resolved.Vit;
            back.eval();
            AssertKeepsWhatHuggingFaceCarries(vit, back);
            var loaded = back.state_dict();

            // The same function as the original once it uses HF's periods; and the change those periods make, measured on the fixtures.
            using var __ = torch.inference_mode();
            var periods = vit.state_dict()["rope_embed.periods"];
            using var own = periods.clone();
            foreach (var input in fx.Tensors.Keys.Where(k => k.StartsWith(name + "__", StringComparison.Ordinal) && k.EndsWith("__x_norm_patchtokens", StringComparison.Ordinal) && !k.Contains("_masked", StringComparison.Ordinal)))
            {
                var x = fx.Load("input_" + input.Split("__")[1]);
                using var viaHf = back.ForwardFeatures(x);
                double vsReference = ReferenceFixtures.MaxAbsDiff(viaHf.PatchTokens, fx.Load(input));
                periods.copy_(loaded["rope_embed.periods"]);
                using var originalWithHfPeriods = vit.ForwardFeatures(x);
                periods.copy_(own);
                Assert.True(Same(viaHf.PatchTokens, originalWithHfPeriods.PatchTokens) && Same(viaHf.ClsToken, originalWithHfPeriods.ClsToken),
                    $"{input}: the HF round trip computes another function than the original with HF's periods");
                output.WriteLine($"{input}: HF's recomputed periods move the patch tokens by {vsReference:E2} (max abs) from the reference");
            }
            roundTrips++;
        }
        if (fx.Folder == Path.Combine(ReferenceFixtures.RepositoryRoot(), "tests", "fixtures", "dinov3-reference"))
            Assert.True(roundTrips > 0, $"No DINOv3 ViT in {fx.Folder} is expressible in DINOv3ViTModel.");
    }

    /// <summary>Every tensor HF carries is bit-identical; the key third of a masked qkv bias is zero; periods are HF's; nothing else changed.</summary>
    static void AssertKeepsWhatHuggingFaceCarries(DinoVisionTransformer vit, DinoVisionTransformer back)
    {
        var config = vit.Config;
        var original = vit.state_dict();
        var loaded = back.state_dict();
        Assert.Equal(original.Keys.Where(k => !k.StartsWith("local_cls_norm.", StringComparison.Ordinal)), loaded.Keys);
        foreach (var (key, t) in loaded)
        {
            var o = original[key];
            if (key == "rope_embed.periods")
                Assert.True(Same(t, RopePositionEmbedding.InitialPeriods(config.HeadDim, config.Rope! with { Dtype = RopeDtype.Fp32 })), "periods are not HF's");
            else if (key.EndsWith(".attn.qkv.bias", StringComparison.Ordinal) && config.MaskKBias)
            {
                int d = config.EmbedDim;
                Assert.True(Same(t[..d], o[..d]) && Same(t[(2 * d)..], o[(2 * d)..]), $"{key}: q or v bias changed");
                Assert.True(t[d..(2 * d)].eq(0).all().item<bool>(), $"{key}: the key bias HF does not carry is not zero");
            }
            else
                Assert.True(Same(t, o), $"{key} changed in Meta → HF → Meta");
        }
    }

    /// <summary>The same on a random released-layout network, whatever the fixture folder holds.</summary>
    [Fact]
    public void MetaToHuggingFaceToMetaKeepsWhatHuggingFaceCarriesForARandomNetwork()
    {
        var config = VisionTransformerVariants.Get("dinov3_vitl16_sat493m") with { EmbedDim = 64, NumHeads = 4, Depth = 2 };
        using var vit = new DinoVisionTransformer(config, new Generator(4));
        using (torch.no_grad())
            foreach (var (key, t) in vit.state_dict())
            {
                if (key.EndsWith(".attn.qkv.bias", StringComparison.Ordinal)) t.normal_(0, 1, new Generator(5));   // a key bias HF must drop
                if (key == "rope_embed.periods") t.copy_(t.to(ScalarType.BFloat16).to(ScalarType.Float32));     // released-style periods
            }
        var folder = Path.Combine(dir, "random");
        Assert.NotNull(BackboneCheckpoint.SaveHuggingFace(vit, folder));
        using var resolved = ModelResolver.OpenBackbone(folder);
        AssertKeepsWhatHuggingFaceCarries(vit, resolved.Vit);
    }

    [Fact]
    public void HuggingFaceToMetaToHuggingFaceIsBitIdentical()
    {
        var config = VisionTransformerVariants.Get("dinov3_vits16plus") with { EmbedDim = 64, NumHeads = 4, Depth = 2 };
        using var vit = new DinoVisionTransformer(config, new Generator(3));
        var first = Path.Combine(dir, "first");
        BackboneCheckpoint.SaveHuggingFace(vit, first);
        using var resolved = ModelResolver.OpenBackbone(first);
        var second = Path.Combine(dir, "second");
        Assert.Null(BackboneCheckpoint.SaveHuggingFace(resolved.Vit, second));   // its periods are HF's now
        var a = SafetensorsFile.Load(Path.Combine(first, "model.safetensors"));
        var b = SafetensorsFile.Load(Path.Combine(second, "model.safetensors"));
        Assert.Equal(a.Keys, b.Keys);
        Assert.Contains("layer.0.attention.q_proj.bias", a.Keys);
        Assert.DoesNotContain("layer.0.attention.k_proj.bias", a.Keys);
        Assert.Contains("layer.0.mlp.gate_proj.weight", a.Keys);
        Assert.Equal(new long[] { 1, 1, 64 }, a["embeddings.mask_token"].shape);
        foreach (var (key, t) in a)
            Assert.True(Same(t, b[key]), $"{key} changed in HF → Meta → HF");
        Assert.Equal(File.ReadAllText(Path.Combine(first, "config.json")), File.ReadAllText(Path.Combine(second, "config.json")));
    }

    /// <summary>Every released ViT survives config.json both ways (the training-only local_cls_norm is not part of HF's model).</summary>
    [Fact]
    public void ReleasedVariantsRoundTripThroughConfigJson()
    {
        foreach (var name in VisionTransformerVariants.NamesOf(BackboneFamily.Dinov3Vit))
        {
            var config = VisionTransformerVariants.Get(name);
            var back = HuggingFaceDinov3Layout.ConfigFromJson(HuggingFaceDinov3Layout.ConfigJson(config), name);
            Assert.Equal(StateDictLayout.Of(config with { UntieGlobalAndLocalClsNorm = false }).Select(e => e.ToString()),
                StateDictLayout.Of(back).Select(e => e.ToString()));
        }
    }

    /// <summary>An HF folder of one family opened with an --arch of the other is one line naming the family it is.</summary>
    [Fact]
    public void HuggingFaceFolderOfTheOtherFamilyNamesItsFamily()
    {
        var v3Folder = Path.Combine(dir, "v3");
        using (var v3 = new DinoVisionTransformer(VisionTransformerVariants.Get("dinov3_vits16") with { EmbedDim = 64, NumHeads = 4, Depth = 2 }, new Generator(1)))
            BackboneCheckpoint.SaveHuggingFace(v3, v3Folder);
        var e = Assert.Throws<CheckpointException>(() => ModelResolver.OpenBackbone(v3Folder, arch: "vit_pico_p4"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("family dinov3_vit", e.Message);

        var v2Folder = Path.Combine(dir, "v2");
        using (var v2 = new DinoVisionTransformer(VisionTransformerVariants.Get("vit_pico_p4"), new Generator(1)))
            BackboneCheckpoint.SaveHuggingFace(v2, v2Folder);
        e = Assert.Throws<CheckpointException>(() => ModelResolver.OpenBackbone(v2Folder, arch: "dinov3_vits16"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("family dinov2", e.Message);
        Assert.Contains(Path.Combine(v2Folder, "model.safetensors"), e.Message);
    }
}
