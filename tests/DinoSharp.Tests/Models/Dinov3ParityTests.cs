using DinoSharp.Interop;
using DinoSharp.Layers;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Models;

/// <summary>
/// Every DINOv3 ViT output in the DINOv3 fixture folder, for every model file (.pth and .safetensors), recomputed by our
/// backbone built from the manifest's constructor arguments. Which models are ViTs comes from models.*.config.class_,
/// which input feeds them and which outputs exist from the tensor names (manifest naming), so another folder in the
/// same format is tested unchanged.
/// </summary>
[Trait("Category", "Parity")]
public sealed class Dinov3ParityTests
{
    const double Tolerance = 1e-5;

    public static TheoryData<string, string, string> Cases() => ReferenceFixtures.V3.OutputCases(FixtureModels.IsDinov3VisionTransformer);

    /// <summary>
    /// How far an output may be from the reference. fp32 RoPE: 1e-5. bf16/fp16 RoPE: the reference casts q and k (all rows)
    /// to the RoPE dtype; our q and k differ from its by float32 rounding (~1e-7 relative, other summation order), which
    /// flips a bf16 rounding for the rare element that sits on a rounding boundary, an error of one bf16 step
    /// (2⁻⁸ relative) in that element that the blocks carry on. So: sin/cos and everything after the first block within one
    /// step of the RoPE dtype (2⁻⁸ for bf16, 2⁻¹¹ for fp16) times max(1, |reference|max); tokens before block 0 still 1e-5.
    /// </summary>
    static double ToleranceFor(VisionTransformerConfig config, string output, Tensor expected)
    {
        if (config.Rope!.Dtype == RopeDtype.Fp32 || output == "debug_tokens_in") return Tolerance;
        double step = config.Rope.Dtype == RopeDtype.Bf16 ? Math.Pow(2, -8) : Math.Pow(2, -11);
        double scale = expected.numel() == 0 ? 1 : Math.Max(1, expected.abs().max().item<float>());
        return step * scale;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputsMatchReference(string model, string file, string tag)
    {
        var fx = ReferenceFixtures.V3;
        var (_, configJson, _) = fx.Models().Single(m => m.Name == model);
        bool masked = tag.EndsWith("_masked", StringComparison.Ordinal);
        string input = masked ? tag[..^"_masked".Length] : tag;

        var config = FixtureModels.Dinov3BackboneConfig(configJson);
        using var vit = new DinoVisionTransformer(config);
        BackboneCheckpoint.Load(vit, fx.PathOf(file), CheckpointLayout.Meta);
        vit.eval();

        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        var x = fx.Load("input_" + input);
        var masks = masked ? fx.Load($"{model}__{input}_mask").to(ScalarType.Bool) : null;
        var outputs = fx.Tensors.Keys.Where(n => n.StartsWith($"{model}__{tag}__", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(outputs);

        var features = vit.ForwardFeatures(x, masks);
        int nIntermediate = outputs.Count(o => o.Contains("__intermediate", StringComparison.Ordinal) && o.EndsWith("_cls", StringComparison.Ordinal));
        var intermediate = nIntermediate > 0 ? vit.GetIntermediateLayers(x, nIntermediate) : [];
        var tokens = vit.BlockOutputs(x, masks);
        var rope = vit.RopeEmbedding(x.shape[2] / config.PatchSize, x.shape[3] / config.PatchSize);

        var failures = new List<string>();
        foreach (var name in outputs)
        {
            string output = name.Split("__")[2];
            Tensor actual = output switch
            {
                "x_norm_clstoken" => features.ClsToken,
                "x_storage_tokens" => features.RegisterTokens,
                "x_norm_patchtokens" => features.PatchTokens,
                "x_prenorm" => features.PreNorm,
                "debug_rope_sin" => rope.Sin,
                "debug_rope_cos" => rope.Cos,
                "debug_tokens_in" => tokens[0],
                _ when output.StartsWith("debug_block", StringComparison.Ordinal) && output.EndsWith("_out", StringComparison.Ordinal) =>
                    tokens[1 + int.Parse(output["debug_block".Length..^"_out".Length])],
                _ when output.StartsWith("intermediate", StringComparison.Ordinal) => Intermediate(intermediate, output),
                _ => throw new NotSupportedException($"Fixture output '{output}' is not known to this test."),
            };
            var expected = fx.Load(name);
            double err = ReferenceFixtures.MaxAbsDiff(actual, expected);
            double tolerance = ToleranceFor(config, output, expected);
            if (!(err <= tolerance)) failures.Add($"{name}: max abs error {err:E2} > {tolerance:E2}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>intermediate&lt;j&gt;_patch / _cls / _storage.</summary>
    static Tensor Intermediate(IReadOnlyList<IntermediateLayer> layers, string output)
    {
        string rest = output["intermediate".Length..];
        int cut = rest.IndexOf('_');
        var layer = layers[int.Parse(rest[..cut])];
        return rest[(cut + 1)..] switch
        {
            "patch" => layer.PatchTokens,
            "cls" => layer.ClsToken,
            "storage" => layer.RegisterTokens!,
            var other => throw new NotSupportedException($"Fixture output '{output}' ({other}) is not known to this test."),
        };
    }
}
