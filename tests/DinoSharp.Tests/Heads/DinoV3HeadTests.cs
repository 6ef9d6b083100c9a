using DinoSharp.Heads;
using DinoSharp.Interop;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Heads;

public sealed class DinoV3HeadTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-5;
    static ReferenceFixtures Fx => ReferenceFixtures.V3;

    /// <summary>Every DINOv3 head of the manifest (class_ DINOHead) × each of its files.</summary>
    public static TheoryData<string, string> Files()
    {
        var data = new TheoryData<string, string>();
        foreach (var (model, config, files) in Fx.Models())
            if (V3FixtureModels.IsDinoHead(config))
                foreach (var file in files)
                    data.Add(model, file);
        return data;
    }

    [Trait("Category", "Parity")]
    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesReferenceOutputs(string model, string file)
    {
        var (_, config, _) = Fx.Models().Single(m => m.Name == model);
        using var head = V3FixtureModels.Head(config);
        var weights = TensorFile.Read(Fx.PathOf(file));
        BackboneCheckpoint.LoadStateDict(head, weights, file);
        head.eval();

        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        // The manifest's naming: head__input / head__output / head__bottleneck belong to the one DINOHead model.
        var outputs = Fx.Tensors.Keys.Where(n => n.StartsWith("head__", StringComparison.Ordinal) && n != "head__input").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(outputs);
        var input = Fx.Load("head__input");
        foreach (var name in outputs)
        {
            var actual = name switch
            {
                "head__output" => head.call(input),
                "head__bottleneck" => head.NormalizedBottleneck(input),
                _ => throw new InvalidOperationException($"Fixture {name} is new to this suite: read its meaning in manifest.json and add it."),
            };
            double err = ReferenceFixtures.MaxAbsDiff(actual, Fx.Load(name));
            output.WriteLine($"{file} {name}: max abs err {err:E2}");
            Assert.True(err <= Tolerance, $"{file} {name}: {err}");
        }
    }

    [Fact]
    public void KeysInOrderMatchTheManifest()
    {
        foreach (var (model, config, _) in Fx.Models().Where(m => V3FixtureModels.IsDinoHead(m.Config)))
        {
            using var head = V3FixtureModels.Head(config);
            Assert.Equal(V3FixtureModels.StateDict(Fx, model), head.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))).ToList());
        }
    }

    [Fact]
    public void PrototypesArePlainTrainableVectorsWithoutWeightNorm()
    {
        using var head = new DinoV3Head(16, 10, 12, 8);
        var p = head.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        Assert.Equal(["last_layer.weight"], head.named_parameters().Where(kv => head.LastLayerParameters.Contains(kv.parameter)).Select(kv => kv.name).ToArray());
        Assert.True(p["last_layer.weight"].requires_grad);
        // trunc-normal(0.02) like every Linear of the reference's init_weights: rows are far from unit norm.
        Assert.InRange(p["last_layer.weight"].norm(1).max().item<float>(), 0.01, 0.2);
        // Logits are dot products of the unit bottleneck with the prototypes: scaling the prototypes scales the logits.
        using var x = torch.randn(3, 16);
        using var before = head.call(x);
        using (torch.no_grad()) p["last_layer.weight"].mul_(2);
        using var after = head.call(x);
        Assert.True(after.allclose(before * 2, rtol: 1e-5, atol: 1e-7));
        using var bottleneck = head.NormalizedBottleneck(x);
        Assert.True(bottleneck.norm(1).allclose(torch.ones(3), rtol: 1e-5, atol: 1e-6));
        Assert.True(head.Prototypes(bottleneck).allclose(after, rtol: 1e-6, atol: 1e-7));
    }

    [Fact]
    public void RejectsWrongInputWidthAndSizes()
    {
        using var head = new DinoV3Head(16, 10, 12, 8);
        var e = Assert.Throws<ArgumentException>(() => head.call(torch.zeros(2, 15)));
        Assert.Contains("[2, 15]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DinoV3Head(16, 0));
    }
}
