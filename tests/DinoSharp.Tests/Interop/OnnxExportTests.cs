using DinoSharp.Interop;
using DinoSharp.Interop.Onnx;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Interop;

/// <summary>
/// Export → ONNX Runtime → the same tokens as our TorchSharp backbone, for every ViT in the fixture manifest (native
/// size and another, both position-embedding resize modes) and a ViT-S/14; plus the bad-input paths.
/// </summary>
[Trait("Category", "Parity")]   // needs the reference fixtures (tests/fixtures)
public sealed class OnnxExportTests(ITestOutputHelper log) : IDisposable
{
    const double Tolerance = 1e-4;
    readonly string folder = Directory.CreateTempSubdirectory("dinosharp-onnx-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>
    /// The (input tensor, antialiased resize) pairs the reference ran <paramref name="model"/> on, read from the
    /// manifest's output names (<see cref="ReferenceFixtures.InputTags"/>), so every input fits the model's patch
    /// size (masked runs are left out: the export has no mask input).
    /// </summary>
    static IReadOnlyList<(string Input, bool Antialias)> ReferenceRuns(string model) =>
        ReferenceFixtures.Instance.InputTags(model)
            .Where(tag => !tag.EndsWith("_masked", StringComparison.Ordinal))
            .Select(tag => tag.StartsWith("aa_", StringComparison.Ordinal) ? ("input_" + tag[3..], true) : ("input_" + tag, false))
            .ToList();

    /// <summary>(model, input tensor name, antialiased resize): every run of every ViT the reference made.</summary>
    public static TheoryData<string, string, bool> FixtureCases()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var (model, config, _) in ReferenceFixtures.Instance.Models())
            if (FixtureModels.IsVisionTransformer(config))
                foreach (var (input, antialias) in ReferenceRuns(model))
                    data.Add(model, input, antialias);
        return data;
    }

    [Theory]
    [MemberData(nameof(FixtureCases))]
    public void FixtureModelMatchesTorch(string model, string input, bool antialias)
    {
        var fx = ReferenceFixtures.Instance;
        var (_, config, files) = fx.Models().Single(m => m.Name == model);
        var cfg = FixtureModels.BackboneConfig(config);
        if (antialias) cfg = cfg with { InterpolateAntialias = true, InterpolateOffset = 0.0 };
        using var vit = new DinoVisionTransformer(cfg);
        BackboneCheckpoint.Load(vit, fx.PathOf(files[0]), CheckpointLayout.Meta);
        using var x = fx.Load(input);
        AssertParity(vit, x);
    }

    /// <summary>One dynamic-size file per model and resize mode, run at every input size the reference ran that model at.</summary>
    public static TheoryData<string, bool> DynamicCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var (model, config, _) in ReferenceFixtures.Instance.Models())
            if (FixtureModels.IsVisionTransformer(config))
                foreach (bool antialias in new[] { false, true })
                    data.Add(model, antialias);
        return data;
    }

    [Theory]
    [MemberData(nameof(DynamicCases))]
    public void DynamicSizeFixtureModelMatchesTorchAtEverySize(string model, bool antialias)
    {
        var fx = ReferenceFixtures.Instance;
        var (_, config, files) = fx.Models().Single(m => m.Name == model);
        var cfg = FixtureModels.BackboneConfig(config);
        if (antialias) cfg = cfg with { InterpolateAntialias = true, InterpolateOffset = 0.0 };
        using var vit = new DinoVisionTransformer(cfg);
        BackboneCheckpoint.Load(vit, fx.PathOf(files[0]), CheckpointLayout.Meta);
        EmphasizePositionEmbedding(vit);
        string path = ExportDynamic(vit);
        using var ort = new OnnxBackboneEmbedder(path);
        Assert.True(ort.Metadata.DynamicImageSize);
        var inputs = ReferenceRuns(model).Select(r => r.Input).Distinct().ToList();
        Assert.True(inputs.Count >= 2, $"{model}: the manifest has fewer than two input sizes for it");
        foreach (var input in inputs)
        {
            using var x = fx.Load(input);
            AssertSameOutputs(vit, ort, x);
        }
    }

    [Fact]
    public void DynamicSizeVitSmall14MatchesTorch()
    {
        torch.manual_seed(0);
        using var vit = VisionTransformerVariants.Create("vit_small");
        EmphasizePositionEmbedding(vit);
        using var ort = new OnnxBackboneEmbedder(ExportDynamic(vit));
        using var x = torch.randn(1, 3, 224, 224);
        AssertSameOutputs(vit, ort, x);
    }

    /// <summary>
    /// A unit-variance position embedding (trained ones are far from the 0.02 init), so an error in the in-graph
    /// resize cannot hide below the tolerance.
    /// </summary>
    static void EmphasizePositionEmbedding(DinoVisionTransformer vit)
    {
        using var _ = torch.no_grad();
        var pos = vit.named_parameters().Single(p => p.name == "pos_embed").parameter;
        using var std = pos.std();
        pos.div_(std);
    }

    string ExportDynamic(DinoVisionTransformer vit)
    {
        vit.eval();
        string path = Path.Combine(folder, "dynamic.onnx");
        var outputs = OnnxOutputs.Cls | OnnxOutputs.Patch | (vit.NumRegisterTokens > 0 ? OnnxOutputs.Registers : OnnxOutputs.None);
        OnnxExporter.Export(vit, path, new OnnxExportOptions { DynamicImageSize = true, Outputs = outputs });
        return path;
    }

    [Theory]
    [InlineData(224, 224, false)]
    [InlineData(168, 252, true)]
    public void VitSmall14MatchesTorch(int height, int width, bool ortAttention)
    {
        torch.manual_seed(0);
        using var vit = VisionTransformerVariants.Create("vit_small");
        // LayerScale starts at 1e-5, which would make every block nearly the identity; 1 makes them all count.
        using (torch.no_grad())
            foreach (var (name, p) in vit.named_parameters().Where(p => p.name.EndsWith(".gamma", StringComparison.Ordinal)))
                p.fill_(1.0);
        using var x = torch.randn(1, 3, height, width);
        AssertParity(vit, x, ortAttention);
    }

    [Fact]
    public void OrtAttentionMatchesTorchWithRegistersAndSwiGLU()
    {
        using var vit = TinyVit();
        using var x = ReferenceFixtures.Instance.Load(TinyOtherInput());
        AssertParity(vit, x, ortAttention: true);
    }

    void AssertParity(DinoVisionTransformer vit, Tensor x, bool ortAttention = false)
    {
        vit.eval();
        string path = Path.Combine(folder, "model.onnx");
        int height = (int)x.shape[2], width = (int)x.shape[3];
        var outputs = OnnxOutputs.Cls | OnnxOutputs.Patch | (vit.NumRegisterTokens > 0 ? OnnxOutputs.Registers : OnnxOutputs.None);
        OnnxExporter.Export(vit, path, new OnnxExportOptions { Height = height, Width = width, Outputs = outputs, OrtAttention = ortAttention });
        using var ort = new OnnxBackboneEmbedder(path);
        AssertSameOutputs(vit, ort, x);
    }

    void AssertSameOutputs(DinoVisionTransformer vit, OnnxBackboneEmbedder ort, Tensor x)
    {
        using var expected = WithInference(() => vit.ForwardFeatures(x));
        using var actual = ort.Run(x);
        log.WriteLine($"input [{string.Join(", ", x.shape)}]");
        var errors = new List<string>
        {
            Check("cls", actual.ClsToken, expected.ClsToken),
            Check("patch", actual.PatchTokens, expected.PatchTokens),
        };
        if (vit.NumRegisterTokens > 0) errors.Add(Check("registers", actual.RegisterTokens, expected.RegisterTokens));
        else Assert.Null(actual.RegisterTokens);
        Assert.True(errors.All(e => e.Length == 0), string.Join("; ", errors.Where(e => e.Length > 0)));
    }

    string Check(string what, Tensor? actual, Tensor expected)
    {
        Assert.NotNull(actual);
        double err = ReferenceFixtures.MaxAbsDiff(actual, expected);
        log.WriteLine($"{what}: max abs error {err:E2}");
        return err <= Tolerance ? "" : $"{what}: max abs error {err:E2}";
    }

    static T WithInference<T>(Func<T> f)
    {
        using var _ = torch.inference_mode();
        return f();
    }

    /// <summary>The first fixture ViT with registers (and weights): SwiGLU and registers in one model in dinov2's fixtures.</summary>
    static (string Name, System.Text.Json.JsonElement Config, string[] Files) TinyModel() =>
        ReferenceFixtures.Instance.Models().First(m => FixtureModels.IsVisionTransformer(m.Config) && m.Files.Length > 0
            && FixtureModels.BackboneConfig(m.Config).NumRegisterTokens > 0);

    /// <summary>A non-square input the reference ran <see cref="TinyModel"/> on at a size other than its native one.</summary>
    static string TinyOtherInput()
    {
        var (name, config, _) = TinyModel();
        int native = FixtureModels.BackboneConfig(config).ImgSize;
        var fx = ReferenceFixtures.Instance;
        return ReferenceRuns(name).Select(r => r.Input).Distinct()
            .OrderByDescending(i => fx.Tensors[i].Shape[2] != fx.Tensors[i].Shape[3])
            .First(i => fx.Tensors[i].Shape[2] != native || fx.Tensors[i].Shape[3] != native);
    }

    /// <summary>Height and width of <see cref="TinyOtherInput"/>.</summary>
    static (int Height, int Width) TinyOtherSize()
    {
        var shape = ReferenceFixtures.Instance.Tensors[TinyOtherInput()].Shape;
        return ((int)shape[2], (int)shape[3]);
    }

    static DinoVisionTransformer TinyVit()
    {
        var fx = ReferenceFixtures.Instance;
        var (_, config, files) = TinyModel();
        var vit = new DinoVisionTransformer(FixtureModels.BackboneConfig(config));
        BackboneCheckpoint.Load(vit, fx.PathOf(files[0]), CheckpointLayout.Meta);
        vit.eval();
        return vit;
    }

    /// <summary>
    /// --int8 (int8 Linears through ONNX Runtime's DynamicQuantizeMatMul) on a ViT-S/14 with LayerScale 1 and
    /// random images: every block's four Linears are rewritten (48 of them), the file holds a quarter of the weight
    /// bytes, the embeddings carry their own identity (precision int8), and they point where the fp32 export's do
    /// within cosine 0.99 — per-column int8 weights (relative step 1/127 of the column's largest weight) and uint8
    /// activations per call add an error of a few per cent per Linear that does not build up over twelve blocks
    /// (measured 0.99+; the bench states the figure on real photos).
    /// </summary>
    [Fact]
    public void Int8LinearsStayNearFp32AndCarryTheirOwnIdentity()
    {
        torch.manual_seed(0);
        using var vit = VisionTransformerVariants.Create("vit_small");
        using (torch.no_grad())
            foreach (var (_, p) in vit.named_parameters().Where(p => p.name.EndsWith(".gamma", StringComparison.Ordinal)))
                p.fill_(1.0);
        vit.eval();
        var preprocessing = ModelResolver.PreprocessingFor(224);
        string fp32 = Path.Combine(folder, "fp32.onnx"), int8 = Path.Combine(folder, "int8.onnx");
        var options = new OnnxExportOptions { Preprocessing = preprocessing, Source = "vits", SourceSha256 = "abc123", Outputs = OnnxOutputs.Cls | OnnxOutputs.Patch };
        OnnxExporter.Export(vit, fp32, options);
        OnnxExporter.Export(vit, int8, options with { Int8Linears = true });
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(int8)).Graph;
        Assert.Equal(4 * vit.Config.Depth, graph.Node.Count(n => n.OpType == "DynamicQuantizeMatMul"));
        Assert.InRange(new FileInfo(int8).Length, 0, new FileInfo(fp32).Length * 0.3);

        using var a = new OnnxBackboneEmbedder(fp32, FeatureKind.ClsAvgPatch);
        using var b = new OnnxBackboneEmbedder(int8, FeatureKind.ClsAvgPatch);
        Assert.Equal("fp32", a.Identity.Precision);
        Assert.Equal(a.Identity with { Precision = "int8" }, b.Identity);
        torch.manual_seed(1);
        using var x = torch.randn(4, 3, 224, 224);
        using var ea = a.Embed(x);
        using var eb = b.Embed(x);
        var cosine = torch.nn.functional.cosine_similarity(ea, eb, dim: 1).data<float>().ToArray();
        log.WriteLine($"int8 vs fp32 cosine: {string.Join(", ", cosine)}");
        Assert.All(cosine, c => Assert.InRange(c, 0.99f, 1.0001f));
    }

    [Fact]
    public void EmbedderMatchesTorchEmbeddingsAndCarriesMetadata()
    {
        using var vit = TinyVit();
        string path = Path.Combine(folder, "tiny.onnx");
        int size = vit.Config.ImgSize;
        var preprocessing = ModelResolver.PreprocessingFor(size);
        OnnxExporter.Export(vit, path, new OnnxExportOptions { Preprocessing = preprocessing, Source = "tiny", SourceSha256 = "abc123" });

        using var onnx = new OnnxBackboneEmbedder(path, FeatureKind.ClsAvgPatch);
        Assert.Equal(vit.Config, onnx.Metadata.Architecture);
        Assert.Equal(preprocessing.ToString(), onnx.Metadata.Preprocessing.ToString());
        Assert.Equal(OnnxOutputs.Cls | OnnxOutputs.Patch | OnnxOutputs.Registers, onnx.Metadata.Outputs);
        Assert.Equal(DinoSharp.Eval.ModelIdentity.Of(vit.Config, "abc123", preprocessing, "cls+avgpatch"), onnx.Identity);

        using var extractor = new FeatureExtractor(vit, preprocessing);
        torch.manual_seed(1);
        using var x = torch.randn(3, 3, size, size);
        using var expected = extractor.Embed(x, FeatureKind.ClsAvgPatch);
        using var actual = onnx.Embed(x);
        Assert.True(ReferenceFixtures.MaxAbsDiff(actual, expected) <= Tolerance);
    }

    /// <summary>ONNX's own checker, with strict shape inference, accepts the exported file (Debian's python3-onnx).</summary>
    [SkippableFact]
    public void ExportedFilePassesOnnxChecker()
    {
        Requires.OnnxChecker();
        using var vit = TinyVit();
        string path = Path.Combine(folder, "checked.onnx");
        var (height, width) = TinyOtherSize();
        OnnxExporter.Export(vit, path, new OnnxExportOptions { Height = height, Width = width });
        const string script = "import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print('ok')";
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(path);
        using var python = System.Diagnostics.Process.Start(start)!;
        string stdout = python.StandardOutput.ReadToEnd(), stderr = python.StandardError.ReadToEnd();
        python.WaitForExit();
        Assert.True(python.ExitCode == 0 && stdout.Trim() == "ok", stderr);
    }

    [Fact]
    public void ExternalDataRoundTrips()
    {
        using var vit = TinyVit();
        string path = Path.Combine(folder, "external.onnx");
        int size = vit.Config.ImgSize;
        OnnxExporter.Export(vit, path, new OnnxExportOptions { Height = size, Width = size, ExternalData = true });
        Assert.True(File.Exists(path + ".data"));
        Assert.True(new FileInfo(path).Length < new FileInfo(path + ".data").Length / 4);
        using var x = torch.randn(1, 3, size, size);
        using var expected = WithInference(() => vit.ForwardFeatures(x));
        using var ort = new OnnxBackboneEmbedder(path);
        using var actual = ort.Run(x);
        Assert.True(ReferenceFixtures.MaxAbsDiff(actual.ClsToken!, expected.ClsToken) <= Tolerance);
    }

    [Fact]
    public void TruncatedOrForeignFileIsOneLineErrorNamingIt()
    {
        using var vit = TinyVit();
        string path = Path.Combine(folder, "whole.onnx");
        OnnxExporter.Export(vit, path, new OnnxExportOptions { Height = vit.Config.ImgSize, Width = vit.Config.ImgSize });
        var bytes = File.ReadAllBytes(path);
        string truncated = Path.Combine(folder, "truncated.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        string text = Path.Combine(folder, "notes.onnx");
        File.WriteAllText(text, "this is not a model\n");

        foreach (var bad in new[] { truncated, text })
        {
            var e = Assert.Throws<CheckpointException>(() => new OnnxBackboneEmbedder(bad));
            Assert.Contains(bad, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void UnsupportedOptionsAreNamed()
    {
        torch.manual_seed(0);
        using var vit = VisionTransformerVariants.Create("vit_pico_p4");
        string path = Path.Combine(folder, "x.onnx");
        void Fails(string option, OnnxExportOptions options)
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => OnnxExporter.Export(vit, path, options));
            Assert.Equal(option, e.ParamName);
            Assert.Contains(option, e.Message);
        }
        Fails(nameof(OnnxExportOptions.Height), new OnnxExportOptions { DynamicImageSize = true, Height = 32 });
        Fails(nameof(OnnxExportOptions.Opset), new OnnxExportOptions { Opset = 13 });
        Fails(nameof(OnnxExportOptions.Height), new OnnxExportOptions { Height = 30, Width = 32 });
        Fails(nameof(OnnxExportOptions.Outputs), new OnnxExportOptions { Height = 32, Width = 32, Outputs = OnnxOutputs.Registers });
        Assert.False(File.Exists(path));
    }
}
