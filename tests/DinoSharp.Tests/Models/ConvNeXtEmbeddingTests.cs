using System.Text.Json;
using DinoSharp.Interop;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Models;

/// <summary>
/// A DINOv3 ConvNeXt through the evaluation path every verb uses: a weights file with a model.json of family
/// dinov3_convnext (or --arch) → <see cref="ModelResolver"/> → <see cref="FeatureExtractor"/>, whose embeddings must be the
/// L2-normalised reference outputs of each ConvNeXt in the DINOv3 fixture folder.
/// </summary>
public sealed class ConvNeXtEmbeddingTests(ITestOutputHelper output) : IDisposable
{
    const double Tolerance = 1e-5;
    static ReferenceFixtures Fx => ReferenceFixtures.V3;
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-convnext-embed-").FullName;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (model, config, files) in Fx.Models())
            if (V3FixtureModels.IsConvNeXt(config))
                foreach (var file in files)
                    data.Add(model, file);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EmbeddingsThroughModelJsonAreTheNormalisedReferenceOutputs(string model, string file)
    {
        var (_, config, _) = Fx.Models().Single(m => m.Name == model);
        var convNeXtConfig = V3FixtureModels.ConvNeXtConfig(config);
        var weights = Path.Combine(dir, "backbone" + Path.GetExtension(file));
        File.Copy(Fx.PathOf(file), weights);
        var card = new ModelCard { ConvNeXt = convNeXtConfig, Preprocessing = ModelResolver.PreprocessingFor(64) };
        card.Save(Path.Combine(dir, "model.json"));

        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "model.json"))).RootElement.GetProperty("backbone");
        Assert.Equal("dinov3_convnext", json.GetProperty("family").GetString());
        Assert.False(json.TryGetProperty("embed_dim", out _));
        var loadedCard = ModelCard.Load(Path.Combine(dir, "model.json"));
        Assert.Equal(convNeXtConfig, loadedCard.ConvNeXt);
        Assert.Equal(BackboneFamily.Dinov3ConvNext, loadedCard.Family);

        using var embedder = Assert.IsType<BackboneEmbedder>(ModelResolver.Open(weights, FeatureKind.Cls));
        Assert.IsType<ConvNeXt>(embedder.Extractor.Backbone);
        // The identity hashes the tensors (the .pth and the .safetensors of one model have one identity) and names the ConvNeXt.
        using (var direct = new ConvNeXt(convNeXtConfig))
        {
            ConvNeXtCheckpoint.Load(direct, Fx.PathOf(file));
            Assert.Equal(WeightsContent.Sha256(direct), embedder.Identity.CheckpointSha256);
        }
        Assert.StartsWith("ConvNeXt(depths", embedder.Identity.Architecture);

        // Every fixture input the model has outputs for, whatever its size (the extractor takes preprocessed tensors).
        var inputs = Fx.InputTags(model, "x_norm_clstoken").ToList();
        Assert.NotEmpty(inputs);
        foreach (var input in inputs)
        {
            using var scope = torch.NewDisposeScope();
            var x = Fx.Load("input_" + input);
            var cls = Fx.Load($"{model}__{input}__x_norm_clstoken");
            var patches = Fx.Load($"{model}__{input}__x_norm_patchtokens");
            var expected = new Dictionary<FeatureKind, Tensor>
            {
                [FeatureKind.Cls] = nn.functional.normalize(cls, dim: 1),
                [FeatureKind.AvgPatch] = nn.functional.normalize(patches.mean([1]), dim: 1),
                [FeatureKind.ClsAvgPatch] = nn.functional.normalize(torch.cat([cls, patches.mean([1])], 1), dim: 1),
            };
            foreach (var (kind, want) in expected)
            {
                double err = ReferenceFixtures.MaxAbsDiff(embedder.Extractor.Embed(x, kind), want);
                output.WriteLine($"{file} {input} {BackboneEmbedder.KindName(kind)}: max abs err {err:E2}");
                Assert.True(err <= Tolerance, $"{file} {input} {kind}: max abs err {err} > {Tolerance}");
            }
            // last4+avgpatch: the cls tokens of all four stages, the last one's average patch token.
            var last4 = embedder.Extractor.Embed(x, FeatureKind.Last4ClsAvgPatch);
            Assert.Equal(convNeXtConfig.Dims.Sum() + convNeXtConfig.EmbedDim, (int)last4.shape[1]);
            using var features = embedder.Extractor.Extract(x);
            Assert.Equal(x.shape[2] / ConvNeXtConfig.Stride, features.GridHeight);
            Assert.Equal(0, features.RegisterTokens.shape[1]);
        }
    }

    /// <summary>A Hugging Face DINOv3ConvNextModel folder describes its own architecture: --model folder needs no --arch.</summary>
    [Fact]
    public void AHuggingFaceConvNeXtFolderResolvesWithoutArch()
    {
        var (model, config, files) = Fx.Models().First(m => V3FixtureModels.IsConvNeXt(m.Config));
        using var convNeXt = new ConvNeXt(V3FixtureModels.ConvNeXtConfig(config) with { PatchSize = null });
        ConvNeXtCheckpoint.Load(convNeXt, Fx.PathOf(files[0]));
        string folder = Path.Combine(dir, "hf");
        ConvNeXtCheckpoint.SaveHuggingFace(convNeXt, folder);
        using var resolved = ModelResolver.OpenBackbone(folder);
        var loaded = Assert.IsType<ConvNeXt>(resolved.Backbone);
        Assert.Equal(convNeXt.Config, loaded.Config);
        Assert.Equal(ModelResolver.ConvNeXtInputSize, resolved.Preprocessing.Size);
        var input = Fx.Tensors.Keys.First(n => n.StartsWith($"{model}__", StringComparison.Ordinal) && n.EndsWith("__x_norm_clstoken", StringComparison.Ordinal)).Split("__")[1];
        using var x = Fx.Load("input_" + input);
        using var _ = torch.inference_mode();
        convNeXt.eval();
        loaded.eval();
        using var expected = convNeXt.ForwardFeatures(x);
        using var actual = loaded.ForwardFeatures(x);
        Assert.Equal(0.0, ReferenceFixtures.MaxAbsDiff(actual.ClsToken, expected.ClsToken));
        Assert.Equal(0.0, ReferenceFixtures.MaxAbsDiff(actual.PatchTokens, expected.PatchTokens));
    }

    [Fact]
    public void AttentionMapsOfAConvNeXtSayThatItHasNoAttention()
    {
        var (model, config, files) = Fx.Models().First(m => V3FixtureModels.IsConvNeXt(m.Config));
        using var convNeXt = new ConvNeXt(V3FixtureModels.ConvNeXtConfig(config));
        using var extractor = new FeatureExtractor(convNeXt, ModelResolver.PreprocessingFor(64));
        using var x = torch.zeros(1, 3, 64, 64);
        var e = Assert.Throws<NotSupportedException>(() => extractor.ClsAttentionMaps(x));
        Assert.Contains("ConvNeXt", e.Message);
        output.WriteLine($"{model}: {e.Message}");
    }

    [Fact]
    public void ArchNamesAConvNeXtForWeightsWithoutModelJson()
    {
        var (_, config, files) = Fx.Models().First(m => V3FixtureModels.IsConvNeXt(m.Config));
        var weights = Path.Combine(dir, "tiny.pth");
        File.Copy(Fx.PathOf(files.First(f => f.EndsWith(".pth", StringComparison.Ordinal))), weights);
        // The fixture is far smaller than the released ConvNeXt-T: --arch must send it to the ConvNeXt loader, which lists the shape differences.
        var e = Assert.Throws<CheckpointException>(() => ModelResolver.OpenBackbone(weights, arch: "dinov3_convnext_tiny"));
        Assert.Contains("ConvNeXt(depths 3-3-9-3, dims 96-192-384-768", e.Message);
        var missing = Assert.Throws<ArgumentException>(() => ModelResolver.OpenBackbone(weights));
        Assert.Contains("dinov3_convnext_tiny", missing.Message);

        using var random = ModelResolver.OpenBackbone("random:dinov3_convnext_tiny");
        var convNeXt = Assert.IsType<ConvNeXt>(random.Backbone);
        Assert.Equal(ConvNeXtVariants.Get("dinov3_convnext_tiny"), convNeXt.Config);
        Assert.Equal(224, random.Preprocessing.Size);
        Assert.Throws<InvalidOperationException>(() => random.Vit);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
