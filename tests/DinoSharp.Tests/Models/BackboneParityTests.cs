using DinoSharp.Interop;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Models;

/// <summary>
/// Every ViT output in the fixture folder, for every model file (.pth and .safetensors), recomputed by our backbone.
/// Cases come from walking manifest.json, so another fixture folder in the same format is tested unchanged.
/// </summary>
[Trait("Category", "Parity")]
public sealed class BackboneParityTests
{
    const double Tolerance = 1e-5;

    public static TheoryData<string, string, string> Cases() => ReferenceFixtures.Instance.OutputCases(FixtureModels.IsVisionTransformer);

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputsMatchReference(string model, string file, string tag)
    {
        var fx = ReferenceFixtures.Instance;
        var (_, config, _) = fx.Models().Single(m => m.Name == model);
        bool antialias = tag.StartsWith("aa_", StringComparison.Ordinal);
        bool masked = tag.EndsWith("_masked", StringComparison.Ordinal);
        string input = tag[(antialias ? 3 : 0)..(masked ? tag.Length - "_masked".Length : tag.Length)];

        var cfg = FixtureModels.BackboneConfig(config);
        if (antialias) cfg = cfg with { InterpolateAntialias = true, InterpolateOffset = 0.0 };
        using var vit = new DinoVisionTransformer(cfg);
        BackboneCheckpoint.Load(vit, fx.PathOf(file), CheckpointLayout.Meta);
        vit.eval();

        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        var x = fx.Load("input_" + input);
        var masks = masked ? fx.Load("input_patch_mask_" + input).to(ScalarType.Bool) : null;
        var outputs = fx.Tensors.Keys.Where(n => n.StartsWith($"{model}__{tag}__", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(outputs);

        var features = vit.ForwardFeatures(x, masks);
        int nIntermediate = outputs.Count(o => o.EndsWith("_cls", StringComparison.Ordinal) && o.Contains("__intermediate"));
        var intermediate = nIntermediate > 0 ? vit.GetIntermediateLayers(x, nIntermediate) : [];
        var blockOutputs = new List<Tensor>();
        var tokens = vit.PrepareTokens(x, masks);
        var tokensIn = tokens;
        foreach (var block in vit.named_children().Single(c => c.name == "blocks").module.children().Cast<nn.Module<Tensor, Tensor>>())
            blockOutputs.Add(tokens = block.forward(tokens));

        var failures = new List<string>();
        foreach (var name in outputs)
        {
            string output = name.Split("__")[2];
            Tensor actual = output switch
            {
                "x_norm_clstoken" => features.ClsToken,
                "x_norm_patchtokens" => features.PatchTokens,
                "x_norm_regtokens" => features.RegisterTokens,
                "x_prenorm" => features.PreNorm,
                "debug_tokens_in" => tokensIn,
                "debug_pos_embed_interp" => vit.InterpolatePositionEmbedding(x.shape[2], x.shape[3]),
                _ when output.StartsWith("debug_block", StringComparison.Ordinal) =>
                    blockOutputs[int.Parse(output["debug_block".Length..^"_out".Length])],
                _ when output.StartsWith("intermediate", StringComparison.Ordinal) => output.EndsWith("_cls", StringComparison.Ordinal)
                    ? intermediate[int.Parse(output["intermediate".Length..^"_cls".Length])].ClsToken
                    : intermediate[int.Parse(output["intermediate".Length..^"_patch".Length])].PatchTokens,
                _ => throw new NotSupportedException($"Fixture output '{output}' is not known to this test."),
            };
            double err = ReferenceFixtures.MaxAbsDiff(actual, fx.Load(name));
            if (!(err <= Tolerance)) failures.Add($"{name}: max abs error {err:E2}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
