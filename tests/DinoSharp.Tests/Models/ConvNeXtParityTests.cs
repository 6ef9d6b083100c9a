using DinoSharp.Interop;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Models;

/// <summary>
/// Every output of every DINOv3 ConvNeXt in the DINOv3 fixture folder (models whose <c>class_</c> is dinov3's ConvNeXt),
/// for each of its files (.pth and .safetensors), recomputed by <see cref="ConvNeXt"/>. Inputs, outputs and the number
/// of intermediate stages are read from the tensor names the manifest's <c>naming</c> describes.
/// </summary>
[Trait("Category", "Parity")]
public sealed class ConvNeXtParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-5;
    static ReferenceFixtures Fx => ReferenceFixtures.V3;

    public static TheoryData<string, string, string> Cases() => Fx.OutputCases(V3FixtureModels.IsConvNeXt);

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputsMatchReference(string model, string file, string tag)
    {
        var (_, config, _) = Fx.Models().Single(m => m.Name == model);
        using var convnext = new ConvNeXt(V3FixtureModels.ConvNeXtConfig(config));
        ConvNeXtCheckpoint.Load(convnext, Fx.PathOf(file));
        convnext.eval();

        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        bool masked = tag.EndsWith("_masked", StringComparison.Ordinal);
        string input = masked ? tag[..^"_masked".Length] : tag;
        var x = Fx.Load("input_" + input);
        var masks = masked ? Fx.Load($"{model}__{input}_mask").to(ScalarType.Bool) : null;
        var names = Fx.Tensors.Keys.Where(n => n.StartsWith($"{model}__{tag}__", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(names);

        var features = convnext.ForwardFeatures(x, masks);
        var intermediate = names.Select(n => n.Split("__")[2]).Where(o => o.StartsWith("intermediate", StringComparison.Ordinal)).ToList();
        IReadOnlyList<IntermediateLayer> layers = [];
        if (intermediate.Count > 0)
            layers = convnext.GetIntermediateLayers(x, intermediate.Max(IntermediateIndex) + 1);

        foreach (var name in names)
        {
            string what = name.Split("__")[2];
            Tensor actual = what switch
            {
                "x_norm_clstoken" => features.ClsToken,
                "x_norm_patchtokens" => features.PatchTokens,
                "x_storage_tokens" or "x_norm_regtokens" => features.RegisterTokens,
                "x_prenorm" => features.PreNorm,
                _ when what.StartsWith("intermediate", StringComparison.Ordinal) && what.EndsWith("_patch", StringComparison.Ordinal)
                    => layers[IntermediateIndex(what)].PatchTokens,
                _ when what.StartsWith("intermediate", StringComparison.Ordinal) && what.EndsWith("_cls", StringComparison.Ordinal)
                    => layers[IntermediateIndex(what)].ClsToken,
                _ => throw new InvalidOperationException($"Fixture {name} is new to this suite: read its meaning in manifest.json and add it."),
            };
            double err = ReferenceFixtures.MaxAbsDiff(actual, Fx.Load(name));
            output.WriteLine($"{file} {name}: max abs err {err:E2}");
            Assert.True(err <= Tolerance, $"{file} {name}: max abs err {err} > {Tolerance}");
        }
    }

    [Fact]
    public void FixtureModelsHaveTheManifestKeyOrderAndShapes()
    {
        var models = Fx.Models().Where(m => V3FixtureModels.IsConvNeXt(m.Config)).ToList();
        Assert.NotEmpty(models);
        foreach (var (name, config, _) in models)
        {
            var c = V3FixtureModels.ConvNeXtConfig(config);
            using var convnext = new ConvNeXt(c);
            var actual = convnext.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))).ToList();
            Assert.Equal(V3FixtureModels.StateDict(Fx, name), actual);
            Assert.Equal(actual, c.StateDictShapes().Select(e => (e.Key, string.Join(",", e.Shape))).ToList());
        }
    }

    /// <summary>j of 'intermediate&lt;j&gt;_patch' / '_cls'.</summary>
    static int IntermediateIndex(string output) =>
        int.Parse(output["intermediate".Length..output.IndexOf('_', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
}
