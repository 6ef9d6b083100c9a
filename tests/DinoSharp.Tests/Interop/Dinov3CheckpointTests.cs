using System.Text.Json;
using DinoSharp.Interop;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Interop;

/// <summary>
/// DINOv3 ViT checkpoints: Meta's .pth and safetensors layouts (fp32 and bf16, with the periods and bias-mask buffers),
/// model.json's family, --arch resolution, and the one-line errors for the wrong family and mismatched periods.
/// </summary>
public sealed class Dinov3CheckpointTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-v3ckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The first DINOv3 ViT of the manifest (with storage tokens when one has them), loaded from its .pth.</summary>
    static (DinoVisionTransformer Model, string Name, string Pth) FixtureModel()
    {
        var fx = ReferenceFixtures.V3;
        var (name, config, files) = fx.Models().Where(m => FixtureModels.IsDinov3VisionTransformer(m.Config))
            .OrderByDescending(m => FixtureModels.Dinov3BackboneConfig(m.Config).NumRegisterTokens).First();
        var pth = fx.PathOf(files.First(f => f.EndsWith(".pth", StringComparison.Ordinal)));
        var vit = new DinoVisionTransformer(FixtureModels.Dinov3BackboneConfig(config));
        BackboneCheckpoint.Load(vit, pth, CheckpointLayout.Meta);
        return (vit, name, pth);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void WrittenCheckpointsReadBackBitIdenticalInTheReferenceKeyOrder()
    {
        var (vit, name, _) = FixtureModel();
        using var _m = vit;
        var manifestOrder = ReferenceFixtures.V3.Manifest.GetProperty("models").GetProperty(name).GetProperty("state_dict")
            .EnumerateArray().Select(e => e.GetProperty("key").GetString()!).ToList();
        foreach (var ext in new[] { ".pth", ".safetensors" })
        {
            var path = Path.Combine(dir, "copy" + ext);
            BackboneCheckpoint.SaveMeta(vit, path);
            var raw = TensorFile.Read(path);
            Assert.Equal(manifestOrder, raw.Keys.ToList());
            using var again = new DinoVisionTransformer(vit.Config);
            BackboneCheckpoint.Load(again, path, CheckpointLayout.Meta);
            var original = vit.state_dict();
            foreach (var (key, t) in again.state_dict())
                Assert.True(Same(t, original[key]), $"{ext}: {key} changed");
        }
    }

    /// <summary>bf16 checkpoints (safetensors BF16, .pth BFloat16Storage) load as the bf16-rounded weights, buffers included.</summary>
    [Fact]
    public void Bf16CheckpointsLoadAsTheRoundedWeights()
    {
        var (vit, _, _) = FixtureModel();
        using var _m = vit;
        var rounded = vit.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.BFloat16));
        var safetensors = Path.Combine(dir, "bf16.safetensors");
        WriteBf16Safetensors(safetensors, rounded);
        var pth = Path.Combine(dir, "bf16.pth");
        var ordered = new System.Collections.Specialized.OrderedDictionary();
        foreach (var (k, v) in rounded) ordered[k] = v.contiguous();
        TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(pth, ordered);
        foreach (var path in new[] { safetensors, pth })
        {
            using var loaded = new DinoVisionTransformer(vit.Config);
            BackboneCheckpoint.Load(loaded, path, CheckpointLayout.Meta);
            foreach (var (key, t) in loaded.state_dict())
                Assert.True(Same(t, rounded[key].to(ScalarType.Float32)), $"{Path.GetFileName(path)}: {key} is not the bf16-rounded weight");
        }
    }

    [Fact]
    public void Dinov3CheckpointLoadedAsDinov2NamesTheRightFamilyAndArch()
    {
        using var vits16 = new DinoVisionTransformer(VisionTransformerVariants.Get("dinov3_vits16"), new Generator(1));
        var path = Path.Combine(dir, "dinov3_vits16.safetensors");
        BackboneCheckpoint.SaveMeta(vits16, path);

        var e = Assert.Throws<CheckpointException>(() => ModelResolver.OpenBackbone(path, arch: "vit_small"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("family dinov3_vit", e.Message);
        Assert.Contains("--arch dinov3_vits16", e.Message);

        using var resolved = ModelResolver.OpenBackbone(path, arch: "dinov3_vits16");
        Assert.Equal(BackboneFamily.Dinov3Vit, resolved.Vit.Config.Family);
        Assert.Equal(224, resolved.Preprocessing.Size);
        foreach (var (key, t) in resolved.Vit.state_dict())
            Assert.True(Same(t, vits16.state_dict()[key]), key);
    }

    [Fact]
    public void Dinov2CheckpointLoadedAsDinov3NamesTheRightFamily()
    {
        var fx = ReferenceFixtures.Instance;
        var (_, config, files) = fx.Models().First(m => FixtureModels.IsVisionTransformer(m.Config));
        var path = fx.PathOf(files[0]);
        var v2 = FixtureModels.BackboneConfig(config);
        using var v3 = new DinoVisionTransformer(VisionTransformerVariants.Get("dinov3_vits16") with
        {
            EmbedDim = v2.EmbedDim, NumHeads = v2.NumHeads, Depth = v2.Depth, PatchSize = v2.PatchSize,
        });
        var e = Assert.Throws<CheckpointException>(() => BackboneCheckpoint.Load(v3, path, CheckpointLayout.Meta));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("a DINOv2 checkpoint", e.Message);
        Assert.Contains("family dinov2", e.Message);
    }

    [Fact]
    public void PeriodsThatDoNotFitTheHeadSizeAreOneLine()
    {
        var (vit, _, _) = FixtureModel();
        using var _m = vit;
        var dict = vit.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        long n = dict["rope_embed.periods"].numel();
        dict["rope_embed.periods"] = torch.ones(n + 1);
        var path = Path.Combine(dir, "bad-periods.safetensors");
        SafetensorsFile.Save(path, dict);
        using var again = new DinoVisionTransformer(vit.Config);
        var e = Assert.Throws<CheckpointException>(() => BackboneCheckpoint.Load(again, path, CheckpointLayout.Meta));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains($"rope_embed.periods has {n + 1} values", e.Message);
        Assert.Contains($"head_dim/4 = {n}", e.Message);
    }

    /// <summary>model.json carries the family and the DINOv3 fields; a weights file with it beside loads with no --arch and computes the reference outputs.</summary>
    [Fact]
    public void ModelJsonCarriesTheFamilyAndLoadsDinov3Weights()
    {
        var (vit, name, pth) = FixtureModel();
        using var _m = vit;
        var weights = Path.Combine(dir, "backbone.pth");
        File.Copy(pth, weights);
        var card = new ModelCard { Backbone = vit.Config, Preprocessing = ModelResolver.PreprocessingFor(64) };
        card.Save(Path.Combine(dir, "model.json"));
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "model.json"))).RootElement.GetProperty("backbone");
        Assert.Equal("dinov3_vit", json.GetProperty("family").GetString());
        Assert.Equal(card.Backbone, ModelCard.Load(Path.Combine(dir, "model.json")).Backbone);

        using var resolved = ModelResolver.OpenBackbone(weights);
        resolved.Vit.eval();
        vit.eval();
        var fx = ReferenceFixtures.V3;
        var input = fx.Tensors.Keys.First(k => k.StartsWith("input_", StringComparison.Ordinal));
        using var _ = torch.inference_mode();
        using var viaCard = resolved.Vit.ForwardFeatures(fx.Load(input));
        using var direct = vit.ForwardFeatures(fx.Load(input));
        Assert.True(Same(viaCard.ClsToken, direct.ClsToken) && Same(viaCard.PatchTokens, direct.PatchTokens), $"{name} via model.json computes another function");
    }

    [Fact]
    public void ModelJsonWithoutFamilyIsDinov2()
    {
        var card = new ModelCard { Backbone = VisionTransformerVariants.Get("vit_pico_p14") };
        var path = Path.Combine(dir, "old-model.json");
        card.Save(path);
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        var backbone = node["backbone"]!.AsObject();
        Assert.True(backbone.Remove("family"));
        foreach (var key in new[] { "rope", "norm_layer", "swiglu_align_to", "mask_k_bias", "untie_cls_and_patch_norms", "untie_global_and_local_cls_norm" })
            backbone.Remove(key);
        File.WriteAllText(path, node.ToJsonString());
        var loaded = ModelCard.Load(path);
        Assert.Equal(BackboneFamily.Dinov2, loaded.Backbone.Family);
        Assert.Equal(card.Backbone, loaded.Backbone);
    }

    static void WriteBf16Safetensors(string path, IReadOnlyDictionary<string, Tensor> dict)
    {
        var header = new System.Text.Json.Nodes.JsonObject();
        long offset = 0;
        var blobs = new List<byte[]>();
        foreach (var (key, t) in dict)
        {
            var bytes = t.contiguous().bytes.ToArray();
            header[key] = new System.Text.Json.Nodes.JsonObject
            {
                ["dtype"] = "BF16",
                ["shape"] = new System.Text.Json.Nodes.JsonArray(t.shape.Select(d => (System.Text.Json.Nodes.JsonNode)d).ToArray()),
                ["data_offsets"] = new System.Text.Json.Nodes.JsonArray(offset, offset + bytes.Length),
            };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var headerBytes = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((long)headerBytes.Length));
        stream.Write(headerBytes);
        foreach (var blob in blobs) stream.Write(blob);
    }

    [Fact]
    public void ModelJsonOfFamilyDinov3WithoutRopeNamesTheFile()
    {
        var path = Path.Combine(dir, "model.json");
        new ModelCard { Backbone = VisionTransformerVariants.Get("dinov3_vits16") }.Save(path);
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        node["backbone"]!.AsObject().Remove("rope");
        File.WriteAllText(path, node.ToJsonString());
        var e = Assert.Throws<CheckpointException>(() => ModelCard.Load(path));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("RoPE", e.Message);
    }
}
