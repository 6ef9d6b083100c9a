using DinoSharp.Interop;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Interop;

[Trait("Category", "Parity")]   // needs the reference fixtures (tests/fixtures)
public sealed class CheckpointTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-ckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static (DinoVisionTransformer Model, string File) FixtureModel(string suffix)
    {
        var fx = ReferenceFixtures.Instance;
        var (name, config, files) = fx.Models().First(m => FixtureModels.IsVisionTransformer(m.Config) && m.Config.GetProperty("num_register_tokens").GetInt32() > 0);
        var file = files.First(f => f.EndsWith(suffix, StringComparison.Ordinal));
        var vit = new DinoVisionTransformer(FixtureModels.BackboneConfig(config));
        BackboneCheckpoint.Load(vit, fx.PathOf(file), CheckpointLayout.Meta);
        return (vit, fx.PathOf(file));
    }

    [Fact]
    public void MetaToHuggingFaceToMetaIsBitIdenticalAndComputesTheSameFunction()
    {
        var (vit, _) = FixtureModel(".safetensors");
        using var _m = vit;
        var hfDir = Path.Combine(dir, "hf");
        BackboneCheckpoint.SaveHuggingFace(vit, hfDir);
        Assert.True(File.Exists(Path.Combine(hfDir, "config.json")));

        var hfKeys = SafetensorsFile.Load(Path.Combine(hfDir, "model.safetensors")).Keys.ToList();
        Assert.Contains("encoder.layer.0.attention.attention.query.weight", hfKeys);
        Assert.Contains("embeddings.register_tokens", hfKeys);
        Assert.Contains("encoder.layer.0.mlp.weights_in.weight", hfKeys);

        using var back = new DinoVisionTransformer(vit.Config);
        BackboneCheckpoint.Load(back, Path.Combine(hfDir, "model.safetensors"), CheckpointLayout.HuggingFace);
        var meta = Path.Combine(dir, "back.safetensors");
        BackboneCheckpoint.SaveMeta(back, meta);

        var original = vit.state_dict();
        foreach (var (key, t) in SafetensorsFile.Load(meta))
            Assert.True(Same(t, original[key]), $"{key} changed in the round trip");
        Assert.Equal(original.Keys, SafetensorsFile.Load(meta).Keys);

        using var x = torch.randn(2, 3, 56, 42, generator: new Generator(7));
        using var __ = torch.inference_mode();
        vit.eval(); back.eval();
        using var a = vit.ForwardFeatures(x);
        using var b = back.ForwardFeatures(x);
        Assert.True(Same(a.PatchTokens, b.PatchTokens));
        Assert.True(Same(a.RegisterTokens, b.RegisterTokens));
    }

    [Fact]
    public void PthWrittenByUsReadsBackIdentically()
    {
        var (vit, _) = FixtureModel(".pth");
        using var _m = vit;
        var path = Path.Combine(dir, "copy.pth");
        BackboneCheckpoint.SaveMeta(vit, path);
        using var again = new DinoVisionTransformer(vit.Config);
        BackboneCheckpoint.Load(again, path, CheckpointLayout.Meta);
        foreach (var (key, t) in again.state_dict())
            Assert.True(Same(t, vit.state_dict()[key]), key);
    }

    [Fact]
    public void TrainingCheckpointPrefixesAndChunkedBlocksAreRead()
    {
        var (vit, _) = FixtureModel(".safetensors");
        using var _m = vit;
        // A block_chunks = 2 training checkpoint with teacher and student: teacher.backbone.blocks.{chunk}.{i}.*
        var entries = new List<KeyValuePair<string, Tensor>>();
        foreach (var (key, t) in vit.state_dict())
        {
            var chunked = System.Text.RegularExpressions.Regex.Replace(key, @"^blocks\.(\d+)\.", m => $"blocks.{int.Parse(m.Groups[1].Value) / 2}.{m.Groups[1].Value}.");
            entries.Add(new("teacher.backbone." + chunked, t));
            entries.Add(new("student.backbone." + chunked, t * 2));
        }
        var path = Path.Combine(dir, "train.safetensors");
        SafetensorsFile.Save(path, entries);

        using var teacher = new DinoVisionTransformer(vit.Config);
        BackboneCheckpoint.Load(teacher, path, CheckpointLayout.MetaTrainingTeacher);
        Assert.True(Same(teacher.state_dict()["blocks.2.attn.qkv.weight"], vit.state_dict()["blocks.2.attn.qkv.weight"]));
        using var student = new DinoVisionTransformer(vit.Config);
        BackboneCheckpoint.Load(student, path, CheckpointLayout.MetaTrainingStudent);
        Assert.True(Same(student.state_dict()["norm.bias"], vit.state_dict()["norm.bias"] * 2));
        var e = Assert.Throws<CheckpointException>(() => BackboneCheckpoint.Load(student, path, CheckpointLayout.Meta));
        Assert.Contains("unexpected", e.Message);
    }

    [Fact]
    public void TruncatedCheckpointGivesOneLineErrorNamingTheFile()
    {
        foreach (var suffix in new[] { ".pth", ".safetensors" })
        {
            var (vit, file) = FixtureModel(suffix);
            using var _m = vit;
            var bytes = File.ReadAllBytes(file);
            var truncated = Path.Combine(dir, "truncated" + suffix);
            File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
            var e = Assert.Throws<CheckpointException>(() => BackboneCheckpoint.Load(vit, truncated, CheckpointLayout.Meta));
            Assert.StartsWith(truncated + ":", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void WrongArchitectureListsMissingUnexpectedAndMisshapedKeys()
    {
        var (vit, file) = FixtureModel(".safetensors");
        vit.Dispose();
        using var other = new DinoVisionTransformer(new VisionTransformerConfig { ImgSize = 28, PatchSize = 14, EmbedDim = 64, Depth = 4, NumHeads = 4 });
        var e = Assert.Throws<CheckpointException>(() => BackboneCheckpoint.Load(other, file, CheckpointLayout.Meta));
        Assert.StartsWith(file + ":", e.Message);
        Assert.Contains(" missing (blocks.0.mlp.fc1.weight", e.Message);   // the file is SwiGLU, the model MLP
        Assert.Contains("unexpected (register_tokens", e.Message);
        Assert.Contains("mis-shaped (pos_embed [1,17,64] (model [1,5,64])", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void NonCheckpointFileIsRefused()
    {
        var path = Path.Combine(dir, "notes.pth");
        File.WriteAllText(path, "these are my notes, not a model\n");
        using var vit = new DinoVisionTransformer(new VisionTransformerConfig { ImgSize = 28, PatchSize = 14, EmbedDim = 64, Depth = 1, NumHeads = 4 });
        var e = Assert.Throws<CheckpointException>(() => BackboneCheckpoint.Load(vit, path, CheckpointLayout.Meta));
        Assert.StartsWith(path + ": neither a PyTorch checkpoint", e.Message);
        var empty = Path.Combine(dir, "empty.safetensors");
        File.WriteAllBytes(empty, []);
        Assert.StartsWith(empty + ": empty file", Assert.Throws<CheckpointException>(() => BackboneCheckpoint.Load(vit, empty, CheckpointLayout.Meta)).Message);
    }

    [Fact]
    public void HalfPrecisionSafetensorsAreWidened()
    {
        var (vit, _) = FixtureModel(".safetensors");
        using var _m = vit;
        // Write F16 and BF16 copies by hand (our writer only writes F32) and check they load within their precision.
        foreach (var (dtype, type, tol) in new[] { ("F16", ScalarType.Float16, 1e-3), ("BF16", ScalarType.BFloat16, 1e-2) })
        {
            var path = Path.Combine(dir, dtype + ".safetensors");
            WriteHalf(path, vit.state_dict(), dtype, type);
            using var loaded = new DinoVisionTransformer(vit.Config);
            BackboneCheckpoint.Load(loaded, path, CheckpointLayout.Meta);
            foreach (var (key, t) in loaded.state_dict())
            {
                var reference = vit.state_dict()[key];
                double err = (t - reference).abs().max().item<float>();
                double scale = Math.Max(1.0, reference.abs().max().item<float>());
                Assert.True(err <= tol * scale, $"{dtype} {key}: {err}");
            }
        }
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static void WriteHalf(string path, IDictionary<string, Tensor> dict, string dtype, ScalarType type)
    {
        var header = new System.Text.Json.Nodes.JsonObject();
        long offset = 0;
        var blobs = new List<byte[]>();
        foreach (var (key, t) in dict)
        {
            var bytes = t.to(type).contiguous().bytes.ToArray();
            header[key] = new System.Text.Json.Nodes.JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new System.Text.Json.Nodes.JsonArray(t.shape.Select(d => (System.Text.Json.Nodes.JsonNode)d).ToArray()),
                ["data_offsets"] = new System.Text.Json.Nodes.JsonArray(offset, offset + bytes.Length),
            };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((ulong)json.Length));
        fs.Write(json);
        foreach (var b in blobs) fs.Write(b);
    }
}
