using DinoSharp.Interop;
using DinoSharp.Layers;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Models;

/// <summary>
/// The bf16 path of the DINOv3 ViT (RoPE attention, storage tokens, masked key bias, SwiGLU w1/w2/w3) against the
/// reference outputs <see cref="Dinov3ParityTests"/> holds the fp32 path to. The bound is that of
/// <see cref="Bf16ParityTests"/>: bfloat16 inputs to the products (ε = 2⁻⁸) accumulated in float32, with a float32
/// residual stream, leave every cls and patch token within cosine 0.999 of the reference. RoPE rotates in the model's own
/// rope dtype in both precisions, so the bf16-RoPE fixtures are held to the same bound. A bf16 region must also leave the
/// fp32 forward bit for bit as it was.
/// </summary>
[Trait("Category", "Parity")]
public sealed class Dinov3Bf16ParityTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Cases()
    {
        var fx = ReferenceFixtures.V3;
        var data = new TheoryData<string, string>();
        foreach (var (model, config, _) in fx.Models())
        {
            if (!FixtureModels.IsDinov3VisionTransformer(config)) continue;
            foreach (var tag in fx.InputTags(model, "x_norm_clstoken"))
                data.Add(model, tag);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bf16TokensPointWhereTheReferenceTokensPoint(string model, string tag)
    {
        var fx = ReferenceFixtures.V3;
        var (_, configJson, files) = fx.Models().Single(m => m.Name == model);
        bool masked = tag.EndsWith("_masked", StringComparison.Ordinal);
        string input = masked ? tag[..^"_masked".Length] : tag;
        using var vit = new DinoVisionTransformer(FixtureModels.Dinov3BackboneConfig(configJson));
        BackboneCheckpoint.Load(vit, fx.PathOf(files[0]), CheckpointLayout.Meta);
        vit.eval();

        using var masks = masked ? fx.Load($"{model}__{input}_mask").to(ScalarType.Bool) : null;
        Bf16ParityTests.AssertBf16NearReference(output, fx, vit, model, tag, masks, fp32Tolerance: null);
    }
}
