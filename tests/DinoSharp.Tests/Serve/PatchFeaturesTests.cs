using DinoSharp.Data;
using DinoSharp.Interop.Onnx;
using DinoSharp.Models;
using DinoSharp.Server;
using TorchSharp;

namespace DinoSharp.Tests.Serve;

/// <summary>The patch view's features: the same maps from a TorchSharp backbone and from its ONNX export, and a clear refusal where a model has no patch tokens or no attention.</summary>
public sealed class PatchFeaturesTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-patchfeatures-").FullName;

    [Fact]
    public void AnOnnxExportWithPatchOutputsGivesTheTorchBackbonesPatchMaps()
    {
        using var scope = torch.NewDisposeScope();
        using var torchModel = (BackboneEmbedder)ModelResolver.Open("random:photos_cpu");
        string onnxPath = Path.Combine(dir, "pico.onnx");
        OnnxExporter.Export(torchModel.Extractor.Backbone, onnxPath, new OnnxExportOptions
        {
            DynamicImageSize = true, Outputs = OnnxOutputs.Cls | OnnxOutputs.Patch, Preprocessing = torchModel.Extractor.Preprocessing,
        });
        using var onnxModel = new OnnxBackboneEmbedder(onnxPath);
        var image = TestImages(96, 80);
        var fromTorch = new PatchFeatures(torchModel).Compute(image, 128);
        var fromOnnx = new PatchFeatures(onnxModel).Compute(image, 128);
        Assert.Equal((16, 16, 128), (fromTorch.Height, fromTorch.Width, fromTorch.Dimension));
        Assert.Equal((fromTorch.Height, fromTorch.Width, fromTorch.Dimension), (fromOnnx.Height, fromOnnx.Width, fromOnnx.Dimension));
        // ONNX Runtime and libtorch sum in different orders: unit-length features agree to 1e-5 (measured ~1e-6).
        Assert.True(fromTorch.Features.Zip(fromOnnx.Features).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);
        var mapTorch = fromTorch.SimilarityTo(fromTorch, 7, 3);
        var mapOnnx = fromOnnx.SimilarityTo(fromOnnx, 7, 3);
        Assert.Equal(1.0, mapTorch[7 * 16 + 3], 1e-5);                 // a patch against itself
        Assert.True(mapTorch.Zip(mapOnnx).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);
        Assert.Null(new PatchFeatures(onnxModel).Unavailable);
        Assert.Contains("attention maps need a TorchSharp Vision Transformer", new PatchFeatures(onnxModel).AttentionUnavailable);
        Assert.Null(new PatchFeatures(torchModel).AttentionUnavailable);
    }

    [Fact]
    public void ModelsWithoutPatchTokensSayWhy()
    {
        using var torchModel = (BackboneEmbedder)ModelResolver.Open("random:photos_cpu");
        string clsOnly = Path.Combine(dir, "cls.onnx");
        OnnxExporter.Export(torchModel.Extractor.Backbone, clsOnly, new OnnxExportOptions { DynamicImageSize = true, Outputs = OnnxOutputs.Cls });
        using var onnxModel = new OnnxBackboneEmbedder(clsOnly);
        Assert.Contains("--outputs cls,patch", new PatchFeatures(onnxModel).Unavailable);
        Assert.Contains("raw pixels have no patch tokens", new PatchFeatures(new RawPixelEmbedder(16)).Unavailable);
    }

    static RgbImage TestImages(int width, int height) => Data.TestImages.Pattern(width, height, seed: 3);

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }
}
