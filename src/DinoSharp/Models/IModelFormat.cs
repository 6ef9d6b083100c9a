namespace DinoSharp.Models;

/// <summary>
/// A form of model string that <see cref="ModelResolver"/> does not open itself, such as an exported ONNX graph: an
/// optional part (an assembly that brings its own runtime) plugs into the resolver by implementing this.
/// </summary>
public interface IModelFormat
{
    /// <summary>A short name for messages, e.g. "ONNX".</summary>
    string Name { get; }

    /// <summary>True when <paramref name="model"/> is in this format (e.g. a path ending in .onnx).</summary>
    bool Recognises(string model);

    /// <summary>The embedder for <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The request asks for something the format cannot do (a device, a feature kind).</exception>
    IImageEmbedder Open(string model, ModelRequest request);
}
