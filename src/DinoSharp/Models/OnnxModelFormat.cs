namespace DinoSharp.Models;

/// <summary>.onnx files from <c>dino export onnx</c>, run by ONNX Runtime on the CPU (<see cref="OnnxBackboneEmbedder"/>).</summary>
public sealed class OnnxModelFormat : IModelFormat
{
    /// <summary>The one instance (the format has no state).</summary>
    public static OnnxModelFormat Instance { get; } = new();

    OnnxModelFormat() { }

    /// <inheritdoc/>
    public string Name => "ONNX";

    /// <summary>True for a path ending in .onnx.</summary>
    public bool Recognises(string model) => model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens the graph; the request's device must be the CPU.</summary>
    public IImageEmbedder Open(string model, ModelRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Device is { } d && d.type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException($"{model}: the ONNX backend runs on the CPU; open the weights with TorchSharp for {d}.");
        return new OnnxBackboneEmbedder(model, request.Kind, request.Threads, imageSize: request.ImageSize);
    }
}
