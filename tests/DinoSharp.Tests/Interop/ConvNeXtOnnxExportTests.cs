using DinoSharp.Interop;
using DinoSharp.Interop.Onnx;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Interop;

/// <summary>
/// ConvNeXt export → ONNX Runtime → the same cls, patch and intermediate tokens as our TorchSharp network, for every
/// ConvNeXt in the DINOv3 fixture manifest at every fixture input size (fixed-size graphs and one dynamic graph).
/// </summary>
public sealed class ConvNeXtOnnxExportTests(ITestOutputHelper log) : IDisposable
{
    const double Tolerance = 1e-4;
    readonly string folder = Directory.CreateTempSubdirectory("dinosharp-convnext-onnx-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    static ReferenceFixtures Fx => ReferenceFixtures.V3;

    public static TheoryData<string> Models() =>
        [.. Fx.Models().Where(m => V3FixtureModels.IsConvNeXt(m.Config)).Select(m => m.Name)];

    static ConvNeXt Load(string model)
    {
        var (_, config, files) = Fx.Models().Single(m => m.Name == model);
        var convnext = new ConvNeXt(V3FixtureModels.ConvNeXtConfig(config));
        ConvNeXtCheckpoint.Load(convnext, Fx.PathOf(files[0]));
        convnext.eval();
        return convnext;
    }

    /// <summary>The fixture images a ConvNeXt takes (at least 32×32 pixels).</summary>
    static List<string> Inputs(ConvNeXtConfig c) =>
        [.. Fx.Tensors.Values.Where(t => t.Name.StartsWith("input_", StringComparison.Ordinal) && t.Shape.Length == 4 && t.Shape[1] == c.InChans
            && t.Shape[2] >= ConvNeXtConfig.Stride && t.Shape[3] >= ConvNeXtConfig.Stride).Select(t => t.Name).Order(StringComparer.Ordinal)];

    [Theory]
    [Trait("Category", "Parity")]
    [MemberData(nameof(Models))]
    public void FixedSizeGraphsMatchTorchAtEveryFixtureSize(string model)
    {
        using var convnext = Load(model);
        var inputs = Inputs(convnext.Config);
        Assert.True(inputs.Count >= 1);
        foreach (var input in inputs)
        {
            using var x = Fx.Load(input);
            string path = Path.Combine(folder, $"{model}_{x.shape[2]}x{x.shape[3]}.onnx");
            ConvNeXtOnnxExporter.Export(convnext, path, new OnnxExportOptions { Height = (int)x.shape[2], Width = (int)x.shape[3] }, ConvNeXtConfig.Stages);
            AssertParity(convnext, path, x, ConvNeXtConfig.Stages, $"{model} {input} fixed");
        }
    }

    [Theory]
    [Trait("Category", "Parity")]
    [MemberData(nameof(Models))]
    public void OneDynamicGraphMatchesTorchAtEveryFixtureSize(string model)
    {
        using var convnext = Load(model);
        string path = Path.Combine(folder, $"{model}_dynamic.onnx");
        ConvNeXtOnnxExporter.Export(convnext, path, new OnnxExportOptions { DynamicImageSize = true }, intermediateStages: 2);
        var inputs = Inputs(convnext.Config);
        Assert.True(inputs.Count >= 1);
        foreach (var input in inputs)
        {
            using var x = Fx.Load(input);
            AssertParity(convnext, path, x, 2, $"{model} {input} dynamic");
        }
    }

    [Fact]
    public void ResizedIntermediatesAreWrittenAtOpset18AndTheMetadataNamesTheFamily()
    {
        using var convnext = new ConvNeXt(new ConvNeXtConfig { Depths = [1, 1, 1, 1], Dims = [8, 8, 16, 16], PatchSize = 16 });
        string path = Path.Combine(folder, "opset.onnx");
        ConvNeXtOnnxExporter.Export(convnext, path, new OnnxExportOptions { Height = 64, Width = 64 }, intermediateStages: 1);
        var onnx = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(18, onnx.OpsetImport.Single().Version);
        Assert.Contains(onnx.Graph.Node, n => n.OpType == "Resize" && n.Attribute.Any(a => a.Name == "antialias" && a.I == 1));
        Assert.Contains(onnx.MetadataProps, p => p.Key == ConvNeXtOnnxExporter.FamilyKey && p.Value == "dinov3_convnext");
        var architecture = onnx.MetadataProps.Single(p => p.Key == ConvNeXtOnnxExporter.ArchitectureKey).Value;
        Assert.Equal(convnext.Config, System.Text.Json.JsonSerializer.Deserialize<ConvNeXtConfig>(architecture, ModelCard.Json));

        ConvNeXtOnnxExporter.Export(convnext, path, new OnnxExportOptions { Height = 64, Width = 64 });
        Assert.Equal(OnnxExporter.DefaultOpset, ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).OpsetImport.Single().Version);

        // A ViT reader refuses the file with a message naming the missing ViT metadata, not a misread architecture.
        var e = Assert.Throws<CheckpointException>(() => new OnnxBackboneEmbedder(path));
        Assert.Contains("dinosharp.architecture", e.Message);
    }

    [Fact]
    public void BadOptionsAreOneLineErrors()
    {
        using var convnext = new ConvNeXt(new ConvNeXtConfig { Depths = [1, 1, 1, 1], Dims = [8, 8, 16, 16] });
        string path = Path.Combine(folder, "bad.onnx");
        Assert.Contains("register", Assert.Throws<ArgumentException>(() =>
            ConvNeXtOnnxExporter.Export(convnext, path, new OnnxExportOptions { Outputs = OnnxOutputs.Registers })).Message);
        Assert.Contains("stride", Assert.Throws<ArgumentException>(() =>
            ConvNeXtOnnxExporter.Export(convnext, path, new OnnxExportOptions { Height = 16, Width = 64 })).Message);
        Assert.Throws<ArgumentException>(() => ConvNeXtOnnxExporter.Export(convnext, path, new OnnxExportOptions(), intermediateStages: 5));
        Assert.Throws<ArgumentException>(() => ConvNeXtOnnxExporter.Export(convnext, path, new OnnxExportOptions { Opset = 16 }));
        Assert.False(File.Exists(path));
    }

    void AssertParity(ConvNeXt convnext, string path, Tensor x, int stages, string what)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        var features = convnext.ForwardFeatures(x);
        var layers = convnext.GetIntermediateLayers(x, stages);
        var expected = new List<(string Name, Tensor Value)> { ("cls", features.ClsToken), ("patch", features.PatchTokens) };
        for (int j = 0; j < stages; j++)
        {
            var (cls, patch) = ConvNeXtOnnxExporter.IntermediateOutputNames(j);
            expected.Add((cls, layers[j].ClsToken));
            expected.Add((patch, layers[j].PatchTokens));
        }

        using var session = new InferenceSession(path);
        float[] data = x.contiguous().data<float>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(data, x.shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["pixel_values"], [input], expected.Select(e => e.Name).ToArray());
        for (int i = 0; i < expected.Count; i++)
        {
            var actual = torch.tensor(results[i].GetTensorDataAsSpan<float>().ToArray(), results[i].GetTensorTypeAndShape().Shape);
            double err = ReferenceFixtures.MaxAbsDiff(actual, expected[i].Value);
            log.WriteLine($"{what} {expected[i].Name}: ORT vs TorchSharp max abs err {err:E2}");
            Assert.True(err <= Tolerance, $"{what} {expected[i].Name}: {err} > {Tolerance}");
        }
    }
}
