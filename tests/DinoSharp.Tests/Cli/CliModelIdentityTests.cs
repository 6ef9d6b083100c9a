using DinoSharp.Eval;
using DinoSharp.Interop;
using DinoSharp.Models;
using DinoSharp.Tests.Data;
using DinoSharp.Tests.Reliability;
using static DinoSharp.Tests.Cli.CliParsingTests;

namespace DinoSharp.Tests.Cli;

/// <summary>One model identity whatever path the weights come through, and architectures described by model.json or a Hugging Face config.json.</summary>
public sealed class CliModelIdentityTests : IDisposable
{
    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    static void Ok((int Code, string Error) result) => Assert.True(result.Code == 0, result.Error);

    [Fact]
    public void Bit_identical_weights_through_a_run_folder_a_converted_file_a_hugging_face_folder_and_onnx_have_one_identity()
    {
        string run = TinyRun.Baseline, pth = Path.Combine(files.Folder, "meta", "teacher.pth"), hf = Path.Combine(files.Folder, "hf");
        string onnx = Path.Combine(files.Folder, "teacher.onnx");
        Ok(CliCommandTests.Dino("convert", "--in", Path.Combine(run, "teacher_backbone.safetensors"), "--out", pth, "--quiet"));
        Ok(CliCommandTests.Dino("convert", "--in", Path.Combine(run, "teacher_backbone.safetensors"), "--to", "hf", "--out", hf, "--quiet"));
        Ok(CliCommandTests.Dino("export", "onnx", "--model", run, "--out", onnx, "--quiet"));

        using var byRun = ModelResolver.Open(run);
        using var byFile = ModelResolver.Open(pth, new ModelRequest { ArchFile = Path.Combine(run, "model.json") });
        using var byHf = ModelResolver.Open(hf);   // no --arch: the folder's config.json describes it
        using var byOnnx = ModelResolver.Open(onnx);
        Assert.IsType<OnnxBackboneEmbedder>(byOnnx);
        Assert.Equal(byRun.Identity, byFile.Identity);
        Assert.Equal(byRun.Identity, byHf.Identity);
        Assert.Equal(byRun.Identity, byOnnx.Identity);
        Assert.Equal("fp32", byRun.Identity.Precision);
        Assert.DoesNotContain(Path.GetFileName(run), byRun.Identity.ToString());   // the path is not part of it

        // So a store embedded through one path accepts rows embedded through another.
        for (int i = 0; i < 4; i++) files.Write($"a/{i}.png", TestImages.Png(TestImages.Pattern(28, 28, seed: i)));
        for (int i = 4; i < 6; i++) files.Write($"b/{i}.png", TestImages.Png(TestImages.Pattern(28, 28, seed: i)));
        string store = Path.Combine(files.Folder, "stores", "mixed");
        Ok(CliCommandTests.Dino("embed", "--model", run, "--data", files.PathOf("a"), "--out", store, "--quiet"));
        Ok(CliCommandTests.Dino("embed", "--model", hf, "--data", files.PathOf("b"), "--out", store, "--append", "--quiet"));
        using var s = EmbeddingStore.Open(store);
        Assert.Equal(6, s.Count);
    }

    [Fact]
    public void Other_weights_or_another_preprocessing_are_another_identity()
    {
        using var a = ModelResolver.Open("random:vit_pico_p7");
        using var b = ModelResolver.Open("random:vit_pico_p7", new ModelRequest { Kind = FeatureKind.AvgPatch });
        using var c = ModelResolver.Open("random:vit_pico_p7", new ModelRequest { ImageSize = 56 });
        using var d = ModelResolver.Open(TinyRun.Baseline);
        Assert.NotEqual(a.Identity, b.Identity);
        Assert.NotEqual(a.Identity, c.Identity);
        Assert.Equal(a.Identity.Architecture, d.Identity.Architecture);   // same sizes …
        Assert.NotEqual(a.Identity.CheckpointSha256, d.Identity.CheckpointSha256);   // … other weights
    }

    [Fact]
    public void An_architecture_no_name_covers_loads_from_a_documented_model_json_and_from_a_hugging_face_config()
    {
        var config = new VisionTransformerConfig { ImgSize = 24, PatchSize = 4, EmbedDim = 48, Depth = 3, NumHeads = 3, InitValues = 1.0 };
        string weights = Path.Combine(files.Folder, "odd", "weights.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(weights)!);
        using (var vit = new DinoVisionTransformer(config)) BackboneCheckpoint.SaveMeta(vit, weights);
        string description = Path.Combine(files.Folder, "descriptions", "odd.json");
        Directory.CreateDirectory(Path.GetDirectoryName(description)!);
        new ModelCard { Backbone = config, Preprocessing = ModelResolver.PreprocessingFor(24) }.Save(description);
        for (int i = 0; i < 3; i++) files.Write($"img/{i}.png", TestImages.Png(TestImages.Pattern(30, 30, seed: i)));
        string store = Path.Combine(files.Folder, "stores", "odd");

        // Nothing describes it: the error names the three ways.
        var refused = CliCommandTests.Dino("embed", "--model", weights, "--data", files.PathOf("img"), "--out", store);
        AssertOneLineUserError(refused, "nothing describes its architecture. Put a model.json beside it (docs/model-json.md), give one with --arch-file, or name a variant with --arch");

        Ok(CliCommandTests.Dino("embed", "--model", weights, "--arch-file", description, "--data", files.PathOf("img"), "--out", store, "--quiet"));
        File.Copy(description, Path.Combine(files.Folder, "odd", "model.json"));
        using var beside = ModelResolver.Open(weights);
        using var byFile = ModelResolver.Open(weights, new ModelRequest { ArchFile = description });
        Assert.Equal(byFile.Identity, beside.Identity);
        Assert.Contains("dim 48, depth 3, heads 3, patch 4", beside.Identity.Architecture);

        string hf = Path.Combine(files.Folder, "odd-hf");
        Ok(CliCommandTests.Dino("convert", "--in", weights, "--to", "hf", "--out", hf, "--quiet"));
        Assert.Equal(config with { InterpolateOffset = 0.1 }, HuggingFaceLayout.ReadConfig(Path.Combine(hf, "config.json")));
        using var byHf = ModelResolver.Open(hf);
        Assert.Equal(beside.Identity, byHf.Identity);
        using var s = EmbeddingStore.Open(store);
        Assert.Equal(beside.Identity, s.Identity);
    }
}
