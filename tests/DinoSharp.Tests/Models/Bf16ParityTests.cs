using DinoSharp.Interop;
using DinoSharp.Layers;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Models;

/// <summary>
/// The bf16 path against the same reference outputs as <see cref="BackboneParityTests"/> (which holds the fp32 path to
/// 1e-5). bfloat16 keeps 8 significant bits (ε = 2⁻⁸ ≈ 0.0039): each product's inputs carry a relative rounding error
/// up to ε/2, accumulated in float32, so an output token is the reference token plus noise of relative size ≈ ε/2 per
/// layer, independent between coordinates. Over the blocks of these models that stays well below 4.5 % of the token's
/// norm — cosine ≥ 0.999 — which is the bound asserted, for every cls and patch token of every case; the fp32 residual
/// stream and float32 LayerNorm statistics are what keep it from growing with depth.
/// </summary>
[Trait("Category", "Parity")]
public sealed class Bf16ParityTests(ITestOutputHelper output)
{
    internal const double MinCosine = 0.999;

    public static TheoryData<string, string> Cases()
    {
        var fx = ReferenceFixtures.Instance;
        var data = new TheoryData<string, string>();
        foreach (var (model, config, _) in fx.Models())
        {
            if (!FixtureModels.IsVisionTransformer(config)) continue;
            foreach (var tag in fx.InputTags(model, "x_norm_clstoken").Where(t => !t.StartsWith("aa_", StringComparison.Ordinal)))
                data.Add(model, tag);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bf16TokensPointWhereTheReferenceTokensPoint(string model, string tag)
    {
        var fx = ReferenceFixtures.Instance;
        var (_, config, files) = fx.Models().Single(m => m.Name == model);
        bool masked = tag.EndsWith("_masked", StringComparison.Ordinal);
        string input = masked ? tag[..^"_masked".Length] : tag;
        using var vit = new DinoVisionTransformer(FixtureModels.BackboneConfig(config));
        BackboneCheckpoint.Load(vit, fx.PathOf(files[0]), CheckpointLayout.Meta);
        vit.eval();

        using var scope = torch.NewDisposeScope();
        var masks = masked ? fx.Load("input_patch_mask_" + input).to(ScalarType.Bool) : null;
        AssertBf16NearReference(output, fx, vit, model, tag, masks, fp32Tolerance: 1e-5);
    }

    /// <summary>
    /// The shared check of both ViT families: the features of <paramref name="vit"/> in a bf16 region are float32 and
    /// every cls and patch token is within cosine <see cref="MinCosine"/> of the reference outputs of (<paramref name="model"/>,
    /// <paramref name="tag"/>); the fp32 forward afterwards is bit for bit the one before, and, when
    /// <paramref name="fp32Tolerance"/> is given, its cls token is that close to the reference.
    /// </summary>
    internal static void AssertBf16NearReference(ITestOutputHelper output, ReferenceFixtures fx, DinoVisionTransformer vit, string model, string tag,
        Tensor? masks, double? fp32Tolerance)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        string input = tag.EndsWith("_masked", StringComparison.Ordinal) ? tag[..^"_masked".Length] : tag;
        var x = fx.Load("input_" + input);
        var before = vit.ForwardFeatures(x, masks);
        BackboneOutput features;
        using (ComputePrecision.Use(Precision.Bf16))
            features = vit.ForwardFeatures(x, masks);
        Assert.Equal(ScalarType.Float32, features.ClsToken.dtype);
        Assert.Equal(ScalarType.Float32, features.PatchTokens.dtype);
        foreach (var (name, actual) in new[] { ("x_norm_clstoken", features.ClsToken), ("x_norm_patchtokens", features.PatchTokens) })
        {
            var expected = fx.Load($"{model}__{tag}__{name}");
            var cos = nn.functional.cosine_similarity(actual.reshape(-1, actual.shape[^1]), expected.reshape(-1, expected.shape[^1]), dim: 1);
            double min = cos.min().item<float>(), err = ReferenceFixtures.MaxAbsDiff(actual, expected);
            output.WriteLine($"{model} {tag} {name}: min cosine {min:F6}, mean {cos.mean().item<float>():F6}, max abs error {err:E2}");
            Assert.True(min >= MinCosine, $"{model} {tag} {name}: a token's cosine to the reference is {min:F6} < {MinCosine}");
        }
        // The fp32 path is untouched by the bf16 region having run.
        var after = vit.ForwardFeatures(x, masks);
        Assert.True(before.ClsToken.equal(after.ClsToken).all().item<bool>() && before.PatchTokens.equal(after.PatchTokens).all().item<bool>(),
            "The fp32 forward changed after a bf16 region ran.");
        if (fp32Tolerance is { } tolerance)
            Assert.True(ReferenceFixtures.MaxAbsDiff(after.ClsToken, fx.Load($"{model}__{tag}__x_norm_clstoken")) <= tolerance);
    }
}
