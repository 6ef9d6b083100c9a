using DinoSharp.Interop;
using DinoSharp.Interop.Onnx;
using DinoSharp.Layers;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Interop;

/// <summary>
/// DINOv3 ViT export → ONNX Runtime (<see cref="OnnxBackboneEmbedder"/>) → the same cls, storage and patch tokens as our
/// TorchSharp network, for every DINOv3 ViT in the DINOv3 fixture manifest: one dynamic-size graph (RoPE's tables computed
/// inside it from the input size) at every fixture input size the model was run on plus two more sizes (at least three in
/// all), and a fixed-size graph. Tolerance 1e-4: the graph's float32 reductions (LayerNorm, MatMul) sum in another order.
/// </summary>
public sealed class Dinov3OnnxExportTests(ITestOutputHelper log) : IDisposable
{
    const double Tolerance = 1e-4;
    readonly string folder = Directory.CreateTempSubdirectory("dinosharp-dinov3-onnx-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    static ReferenceFixtures Fx => ReferenceFixtures.V3;

    public static TheoryData<string> Models() =>
        [.. Fx.Models().Where(m => FixtureModels.IsDinov3VisionTransformer(m.Config) && m.Files.Length > 0).Select(m => m.Name)];

    static DinoVisionTransformer Load(string model)
    {
        var (_, config, files) = Fx.Models().Single(m => m.Name == model);
        var vit = new DinoVisionTransformer(FixtureModels.Dinov3BackboneConfig(config));
        BackboneCheckpoint.Load(vit, Fx.PathOf(files[0]), CheckpointLayout.Meta);
        vit.eval();
        return vit;
    }

    /// <summary>The fixture inputs the reference ran <paramref name="model"/> on, then random images at two more sizes (non-square included).</summary>
    static List<(string Name, Tensor X)> Inputs(string model, int patch)
    {
        var names = Fx.InputTags(model).Where(t => !t.EndsWith("_masked", StringComparison.Ordinal)).ToList();
        var inputs = names.Select(n => (n, Fx.Load("input_" + n))).ToList();
        var generator = new torch.Generator(7);
        foreach (var (h, w) in new[] { (3, 5), (7, 2) })
            inputs.Add(($"random {h * patch}x{w * patch}", torch.randn([2, 3, h * patch, w * patch], generator: generator)));
        return inputs;
    }

    [Theory]
    [Trait("Category", "Parity")]
    [MemberData(nameof(Models))]
    public void OneDynamicGraphMatchesTorchAtEverySize(string model)
    {
        using var vit = Load(model);
        string path = Path.Combine(folder, $"{model}_dynamic.onnx");
        OnnxExporter.Export(vit, path, new OnnxExportOptions { DynamicImageSize = true });
        AssertPlainOperators(path);
        using var ort = new OnnxBackboneEmbedder(path);
        Assert.Equal(vit.Config, ort.Metadata.Architecture);
        var inputs = Inputs(model, vit.PatchSize);
        Assert.True(inputs.Select(i => (i.X.shape[2], i.X.shape[3])).Distinct().Count() >= 3);
        foreach (var (name, x) in inputs)
            using (x)
                AssertSameOutputs(vit, ort, x, $"{model} {name} dynamic");
    }

    [Theory]
    [Trait("Category", "Parity")]
    [MemberData(nameof(Models))]
    public void FixedSizeGraphMatchesTorch(string model)
    {
        using var vit = Load(model);
        var (name, x) = Inputs(model, vit.PatchSize)[^1];
        using var _x = x;
        string path = Path.Combine(folder, $"{model}_fixed.onnx");
        OnnxExporter.Export(vit, path, new OnnxExportOptions { Height = (int)x.shape[2], Width = (int)x.shape[3] });
        using var ort = new OnnxBackboneEmbedder(path);
        AssertSameOutputs(vit, ort, x, $"{model} {name} fixed");
    }

    /// <summary>What the fixtures lack: RMSNorm, no LayerScale, SwiGLU with separate w1/w2, min coordinate normalisation, min/max periods.</summary>
    [Fact]
    public void RmsNormSwiGluWithoutLayerScaleMatchesTorch()
    {
        var config = new VisionTransformerConfig
        {
            Family = BackboneFamily.Dinov3Vit, ImgSize = 32, PatchSize = 8, EmbedDim = 32, Depth = 2, NumHeads = 2,
            FfnLayer = FeedForwardKind.SwiGLU, NormLayer = NormKind.RmsNorm, LayerNormEps = 1e-5, InitValues = 0,
            NumRegisterTokens = 1, MaskKBias = true,
            Rope = new RopeConfig { Base = null, MinPeriod = 0.25, MaxPeriod = 8, NormalizeCoords = RopeCoordinateNormalization.Min },
        };
        using var generator = new torch.Generator(3);
        using var vit = new DinoVisionTransformer(config, generator);
        // Move every weight away from its init (unit norms, zero biases) so each term shows in the outputs.
        using (torch.no_grad())
            foreach (var (_, p) in vit.named_parameters())
                p.add_(torch.randn(p.shape, generator: generator) * 0.2);
        vit.eval();
        string path = Path.Combine(folder, "rms.onnx");
        OnnxExporter.Export(vit, path, new OnnxExportOptions { DynamicImageSize = true });
        using var ort = new OnnxBackboneEmbedder(path);
        foreach (var (h, w) in new[] { (32, 32), (24, 40), (56, 16) })
        {
            using var x = torch.randn([2, 3, h, w], generator: generator);
            AssertSameOutputs(vit, ort, x, $"rmsnorm {h}x{w}");
        }
    }

    [Fact]
    public void Bf16RopeAndOrtAttentionAreRefusedWithTheReason()
    {
        var config = VisionTransformerVariants.Get("dinov3_vits16") with { Depth = 1, EmbedDim = 64, NumHeads = 1 };
        using var bf16 = new DinoVisionTransformer(config with { Rope = config.Rope! with { Dtype = RopeDtype.Bf16 } });
        string path = Path.Combine(folder, "refused.onnx");
        var e = Assert.ThrowsAny<ArgumentException>(() => OnnxExporter.Export(bf16, path, new OnnxExportOptions()));
        Assert.Contains("Bf16 RoPE", e.Message);
        using var fp32 = new DinoVisionTransformer(config);
        e = Assert.ThrowsAny<ArgumentException>(() => OnnxExporter.Export(fp32, path, new OnnxExportOptions { OrtAttention = true }));
        Assert.Contains("OrtAttention", e.Message);
        Assert.False(File.Exists(path));
    }

    /// <summary>No Tile and no If (TensorRT users report both as blockers); the RoPE tables come from Sin and Cos nodes.</summary>
    static void AssertPlainOperators(string path)
    {
        var onnx = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var ops = onnx.Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.DoesNotContain("Tile", ops);
        Assert.DoesNotContain("If", ops);
        Assert.Contains("Sin", ops);
        Assert.Contains("Cos", ops);
    }

    void AssertSameOutputs(DinoVisionTransformer vit, OnnxBackboneEmbedder ort, Tensor x, string what)
    {
        BackboneOutput expected;
        using (torch.inference_mode())
            expected = vit.ForwardFeatures(x);
        using var _e = expected;
        using var actual = ort.Run(x);
        var errors = new List<string>
        {
            Check($"{what} cls", actual.ClsToken, expected.ClsToken),
            Check($"{what} patch", actual.PatchTokens, expected.PatchTokens),
        };
        if (vit.NumRegisterTokens > 0) errors.Add(Check($"{what} storage", actual.RegisterTokens, expected.RegisterTokens));
        Assert.True(errors.All(e => e.Length == 0), string.Join("; ", errors.Where(e => e.Length > 0)));
    }

    string Check(string what, Tensor? actual, Tensor expected)
    {
        Assert.NotNull(actual);
        double err = ReferenceFixtures.MaxAbsDiff(actual, expected);
        log.WriteLine($"{what}: max abs error {err:E2}");
        return err <= Tolerance ? "" : $"{what}: max abs error {err:E2}";
    }
}
