using DinoSharp.Interop;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Interop;

/// <summary>The DINOv3 ConvNeXt in Meta's and Hugging Face's layouts: round trips, files we write, and bad input.</summary>
public sealed class ConvNeXtCheckpointTests(ITestOutputHelper output) : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-convnext-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static ReferenceFixtures Fx => ReferenceFixtures.V3;

    /// <summary>Every ConvNeXt file of the v3 manifest.</summary>
    public static TheoryData<string, string> Files()
    {
        var data = new TheoryData<string, string>();
        foreach (var (model, config, files) in Fx.Models())
            if (V3FixtureModels.IsConvNeXt(config))
                foreach (var file in files)
                    data.Add(model, file);
        return data;
    }

    static bool Same(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Theory]
    [MemberData(nameof(Files))]
    public void MetaToHuggingFaceToMetaAndBackAreBitIdentical(string model, string file)
    {
        using var scope = torch.NewDisposeScope();
        var meta = TensorFile.Read(Fx.PathOf(file));
        var hf = ConvNeXtHuggingFaceLayout.FromMeta(meta);
        Assert.DoesNotContain(hf, kv => kv.Key.StartsWith("norms.", StringComparison.Ordinal));
        Assert.Equal(meta.Count - 2, hf.Count);   // norms.3.{weight,bias} are the final norm itself

        // Meta → HF → Meta: every key of the file back, in the manifest's order once loaded, every bit the same.
        var metaAgain = ConvNeXtHuggingFaceLayout.ToMeta(hf.ToDictionary());
        Assert.Equal(meta.Keys.Order(StringComparer.Ordinal), metaAgain.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, t) in meta)
            Assert.True(Same(t, metaAgain[key]), $"{model}: {key} changed in Meta → HF → Meta");

        // HF → Meta → HF: the same keys in the same order, every bit the same.
        var hfAgain = ConvNeXtHuggingFaceLayout.FromMeta(metaAgain.OrderBy(kv => OrderIn(meta.Keys, kv.Key)));
        Assert.Equal(hf.Select(kv => kv.Key), hfAgain.Select(kv => kv.Key));
        foreach (var ((key, a), (_, b)) in hf.Zip(hfAgain))
            Assert.True(Same(a, b), $"{model}: {key} changed in HF → Meta → HF");
    }

    /// <summary>
    /// Through files: written as a Hugging Face folder and read back from it, the network computes bit for bit what the
    /// Meta file computes (transformers' DINOv3ConvNextModel carries every weight), and the reference's outputs ≤ 1e-5.
    /// </summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void HuggingFaceFolderComputesWhatTheMetaFileComputes(string model, string file)
    {
        var config = V3FixtureModels.ConvNeXtConfig(Fx.Models().Single(m => m.Name == model).Config);
        using var meta = new ConvNeXt(config);
        ConvNeXtCheckpoint.Load(meta, Fx.PathOf(file));
        var folder = Path.Combine(dir, model);
        ConvNeXtCheckpoint.SaveHuggingFace(meta, folder);
        Assert.Contains("\"dinov3_convnext\"", File.ReadAllText(Path.Combine(folder, "config.json")));
        var keys = SafetensorsFile.Load(Path.Combine(folder, "model.safetensors")).Keys.ToList();
        Assert.Contains("stages.0.downsample_layers.0.weight", keys);
        Assert.Contains("stages.0.layers.0.depthwise_conv.weight", keys);
        Assert.Contains("layer_norm.weight", keys);

        using var hf = ConvNeXtCheckpoint.LoadHuggingFaceFolder(folder, config.PatchSize);
        Assert.Equal(config, hf.Config);
        var original = meta.state_dict();
        foreach (var (key, t) in hf.state_dict())
            Assert.True(Same(t, original[key]), $"{key} changed through the Hugging Face folder");

        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        meta.eval(); hf.eval();
        foreach (var input in Fx.Tensors.Keys.Where(n => n.StartsWith("input_", StringComparison.Ordinal)))
        {
            var x = Fx.Load(input);
            if (x.dim() != 4 || x.shape[1] != config.InChans || x.shape[2] < ConvNeXtConfig.Stride || x.shape[3] < ConvNeXtConfig.Stride) continue;
            var a = meta.ForwardFeatures(x);
            var b = hf.ForwardFeatures(x);
            double diff = Math.Max(ReferenceFixtures.MaxAbsDiff(a.ClsToken, b.ClsToken), ReferenceFixtures.MaxAbsDiff(a.PatchTokens, b.PatchTokens));
            output.WriteLine($"{model} {input}: Meta file vs Hugging Face folder, max abs output difference {diff:E2}");
            Assert.Equal(0.0, diff);
            string reference = $"{model}__{input["input_".Length..]}__x_norm_clstoken";
            if (Fx.Has(reference))
                Assert.True(ReferenceFixtures.MaxAbsDiff(b.ClsToken, Fx.Load(reference)) <= 1e-5, reference);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void MetaFilesWeWriteReadBackIdentically(string model, string file)
    {
        var config = V3FixtureModels.ConvNeXtConfig(Fx.Models().Single(m => m.Name == model).Config);
        using var convnext = new ConvNeXt(config);
        ConvNeXtCheckpoint.Load(convnext, Fx.PathOf(file));
        var reference = TensorFile.Read(Fx.PathOf(file));
        foreach (var extension in new[] { ".pth", ".safetensors" })
        {
            var path = Path.Combine(dir, model + extension);
            ConvNeXtCheckpoint.SaveMeta(convnext, path);
            var written = TensorFile.Read(path);
            Assert.Equal(reference.Keys.Order(StringComparer.Ordinal), written.Keys.Order(StringComparer.Ordinal));
            foreach (var (key, t) in reference)
                Assert.True(Same(t, written[key]), $"{key} differs in our {extension}");
        }
    }

    /// <summary>Released checkpoints may hold bfloat16 tensors: a bf16 .pth loads as exactly the bf16-rounded float32 weights.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void ABfloat16PthLoadsAsTheRoundedWeights(string model, string file)
    {
        var reference = TensorFile.Read(Fx.PathOf(file));
        var ordered = new System.Collections.Specialized.OrderedDictionary();
        foreach (var (key, t) in reference) ordered[key] = t.to(ScalarType.BFloat16);
        var path = Path.Combine(dir, model + "_bf16.pth");
        TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(path, ordered);
        var stored = (System.Collections.IDictionary)WeightsOnlyUnpickler.Load(path)!;
        Assert.All(stored.Values.Cast<Tensor>(), t => Assert.Equal(ScalarType.BFloat16, t.dtype));

        var config = V3FixtureModels.ConvNeXtConfig(Fx.Models().Single(m => m.Name == model).Config);
        using var convnext = new ConvNeXt(config);
        ConvNeXtCheckpoint.Load(convnext, path);
        var loaded = convnext.state_dict();
        foreach (var (key, t) in reference)
        {
            using var rounded = t.to(ScalarType.BFloat16).to(ScalarType.Float32);
            Assert.True(Same(rounded, loaded[key]), $"{key}: not the bf16-rounded value");
        }
    }

    [Fact]
    public void HuggingFaceConfigRoundTripsAndNamesWhatItRejects()
    {
        var released = ConvNeXtVariants.Get("dinov3_convnext_base");
        Assert.Equal(released, ConvNeXtHuggingFaceLayout.ParseConfig(ConvNeXtHuggingFaceLayout.ConfigJson(released), "config.json"));
        var e = Assert.Throws<CheckpointException>(() => ConvNeXtHuggingFaceLayout.ParseConfig("{\"model_type\": \"dinov2\"}", "x/config.json"));
        Assert.Contains("x/config.json", e.Message);
        Assert.Contains("dinov3_convnext", e.Message);
        e = Assert.Throws<CheckpointException>(() => ConvNeXtHuggingFaceLayout.ParseConfig("{\"model_type\": \"dinov3_convnext\", \"depths\": [1, 1, 1]}", "y/config.json"));
        Assert.Contains("Depths", e.Message);
        Assert.Throws<CheckpointException>(() => ConvNeXtHuggingFaceLayout.ConfigJson(released with { LayerScaleInitValue = 0 }));
    }

    [Fact]
    public void AFileOfAnotherShapeIsOneErrorNamingTheFileAndTheModel()
    {
        var (model, _, files) = Fx.Models().First(m => V3FixtureModels.IsConvNeXt(m.Config));
        var config = V3FixtureModels.ConvNeXtConfig(Fx.Models().Single(m => m.Name == model).Config);
        using var wider = new ConvNeXt(config with { Dims = [.. config.Dims.Select(d => d + 8)] });
        var e = Assert.Throws<CheckpointException>(() => ConvNeXtCheckpoint.Load(wider, Fx.PathOf(files[0])));
        Assert.Contains(files[0], e.Message);
        Assert.Contains("ConvNeXt(depths", e.Message);
        Assert.Contains("mis-shaped", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        // A ViT file loaded as a ConvNeXt: every key is reported missing or unexpected, in one line.
        var vitFile = Fx.Models().Where(m => !V3FixtureModels.IsConvNeXt(m.Config) && !V3FixtureModels.IsDinoHead(m.Config)).Select(m => m.Files[0]).FirstOrDefault();
        if (vitFile is not null)
        {
            using var convnext = new ConvNeXt(config);
            e = Assert.Throws<CheckpointException>(() => ConvNeXtCheckpoint.Load(convnext, Fx.PathOf(vitFile)));
            Assert.Contains("missing", e.Message);
        }
    }

    [Fact]
    public void AMetaDictWhoseSharedNormDiffersHasNoHuggingFaceForm()
    {
        using var convnext = new ConvNeXt(new ConvNeXtConfig { Depths = [1, 1, 1, 1], Dims = [4, 8, 8, 8] });
        var dict = convnext.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        dict["norms.3.bias"] = dict["norms.3.bias"] + 1;
        var e = Assert.Throws<CheckpointException>(() => ConvNeXtHuggingFaceLayout.FromMeta(dict));
        Assert.Contains("norms.3.bias", e.Message);
    }

    static int OrderIn(IEnumerable<string> keys, string key) => keys.Select((k, i) => (k, i)).First(p => p.k == key).i;
}
