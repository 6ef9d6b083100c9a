using TorchSharp;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;

namespace DinoSharp.Tests.Models;

public sealed class VariantTests
{
    /// <summary>Meta's backbone key order for a depth-L MLP model without registers (vision_transformer.py's state_dict).</summary>
    static IEnumerable<string> MetaKeys(int depth)
    {
        yield return "cls_token";
        yield return "pos_embed";
        yield return "mask_token";
        yield return "patch_embed.proj.weight";
        yield return "patch_embed.proj.bias";
        for (int i = 0; i < depth; i++)
            foreach (var k in new[] { "norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
                         "ls1.gamma", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias", "ls2.gamma" })
                yield return $"blocks.{i}.{k}";
        yield return "norm.weight";
        yield return "norm.bias";
    }

    [Fact]
    public void VitSmall14HasMetasKeysAndParameterCount()
    {
        using var vit = VisionTransformerVariants.Create("vit_small");
        Assert.Equal(MetaKeys(12), vit.state_dict().Keys);
        Assert.Equal(new long[] { 1, 37 * 37 + 1, 384 }, vit.state_dict()["pos_embed"].shape);
        Assert.Equal(22_056_576L, vit.parameters().Sum(p => p.numel()));

        using var vit224 = new DinoVisionTransformer(VisionTransformerVariants.Get("vit_small") with { ImgSize = 224 });
        Assert.Equal(21_629_184L, vit224.parameters().Sum(p => p.numel()));
    }

    /// <summary>Meta's patch-14 backbones (learned at 518) embed at 224 by default; the CPU patch-14 one at its own 28 px.</summary>
    [Theory]
    [InlineData("random:vit_small", 224)]
    [InlineData("random:vit_pico_p14", 28)]
    [InlineData("random:fashion_mnist_cpu", 28)]
    [InlineData("random:vit_pico_p8", 64)]
    public void AnUntrainedNetworkEmbedsAtItsDefaultInputSize(string model, int size)
    {
        using var resolved = ModelResolver.OpenBackbone(model);
        Assert.Equal(size, resolved.Preprocessing.Size);
    }

    /// <summary>
    /// `random:` draws its weights from a generator of its own: the same network whatever state libtorch's global generator
    /// is in (a training run in the same process reseeds that one every step).
    /// </summary>
    [Fact]
    public void AnUntrainedNetworkIsTheSameWhateverTheGlobalGeneratorHolds()
    {
        torch.manual_seed(1);
        using var a = ModelResolver.OpenBackbone("random:vit_pico_p14");
        torch.manual_seed(2);
        using var _ = torch.rand(1000);
        using var b = ModelResolver.OpenBackbone("random:vit_pico_p14");
        var bWeights = b.Vit.state_dict();
        foreach (var (key, t) in a.Vit.state_dict())
            Assert.True(t.allclose(bWeights[key], rtol: 0, atol: 0), $"{key} differs between two builds of random:vit_pico_p14");
        Assert.True(a.Vit.state_dict()["patch_embed.proj.weight"].std().item<float>() > 0.01f);
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void FixtureModelsHaveTheManifestKeyOrderAndShapes()
    {
        var fx = ReferenceFixtures.Instance;
        foreach (var (name, config, _) in fx.Models().Where(m => FixtureModels.IsVisionTransformer(m.Config)))
        {
            using var vit = new DinoVisionTransformer(FixtureModels.BackboneConfig(config));
            var expected = fx.Manifest.GetProperty("models").GetProperty(name).GetProperty("state_dict").EnumerateArray()
                .Select(e => (e.GetProperty("key").GetString()!, string.Join(",", e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))))
                .ToList();
            var actual = vit.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))).ToList();
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [InlineData("vit_base", 768, 12, 0)]
    [InlineData("vit_large_reg4", 1024, 24, 4)]
    [InlineData("dinov2_vitg14_reg", 1536, 40, 4)]
    public void NamedVariantsHaveTheirShape(string name, int dim, int depth, int registers)
    {
        var c = VisionTransformerVariants.Get(name);
        Assert.Equal((dim, depth, registers, 14, 518), (c.EmbedDim, c.Depth, c.NumRegisterTokens, c.PatchSize, c.ImgSize));
        Assert.Equal(registers > 0, c.InterpolateAntialias);
    }

    [Fact]
    public void UnknownVariantListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => VisionTransformerVariants.Get("vit_huge"));
        Assert.Contains("vit_small", e.Message);
    }
}
