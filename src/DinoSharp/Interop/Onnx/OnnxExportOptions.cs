using DinoSharp.Models;

namespace DinoSharp.Interop.Onnx;

/// <summary>What <see cref="OnnxExporter"/> writes besides the architecture itself.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Input height in pixels (a multiple of the patch size); null: the preprocessing size (or dynamic).</summary>
    public int? Height { get; init; }

    /// <summary>Input width in pixels (a multiple of the patch size); null: the preprocessing size (or dynamic).</summary>
    public int? Width { get; init; }

    /// <summary>
    /// Any input size (multiples of the patch size), with the position-embedding resize inside the graph as an ONNX
    /// Resize (opset 18 or later for models with the antialiased resize). False: the size is fixed (Height × Width)
    /// and the resized embedding stored as a constant, computed by the model's own resize matrices.
    /// </summary>
    public bool DynamicImageSize { get; init; }

    /// <summary>Graph outputs; null: cls and patch, plus registers when the model has them.</summary>
    public OnnxOutputs? Outputs { get; init; }

    /// <summary>ONNX operator set (17 is the first with LayerNormalization; the only one written so far).</summary>
    public int Opset { get; init; } = OnnxExporter.DefaultOpset;

    /// <summary>
    /// Write each attention layer as ONNX Runtime's com.microsoft Attention contrib op (qkv projection, softmax
    /// attention and head merge in one kernel) instead of standard MatMul/Softmax ops. ORT's optimiser only fuses
    /// attention in BERT-shaped graphs (separate q, k, v and a padding mask), never a ViT's; the price is a file only
    /// ONNX Runtime runs.
    /// </summary>
    public bool OrtAttention { get; init; }

    /// <summary>
    /// Store every Linear's weight as int8 (symmetric, one scale per output column) and run it as ONNX Runtime's
    /// com.microsoft DynamicQuantizeMatMul, which quantises the activations to uint8 on each call and multiplies with
    /// the CPU's int8 dot-product instructions (VNNI). Attention's own products stay float32. Smaller and, where the
    /// matrix products dominate, faster, at an accuracy cost that docs/performance.md states; a file only ONNX Runtime
    /// runs.
    /// </summary>
    public bool Int8Linears { get; init; }

    /// <summary>How images become model input, stored in the metadata for the ONNX Runtime backend.</summary>
    public Preprocessing Preprocessing { get; init; } = new();

    /// <summary>Where the weights came from (run folder, file or architecture name); part of the embedding identity.</summary>
    public string Source { get; init; } = "";

    /// <summary>SHA-256 of the source checkpoint, so ONNX embeddings share the identity of the torch backend's.</summary>
    public string SourceSha256 { get; init; } = "";

    /// <summary>
    /// Store weights in a "&lt;file&gt;.data" file beside the model (ONNX external data). Null: only when the weights
    /// would not fit the 2 GB protobuf limit (ViT-g).
    /// </summary>
    public bool? ExternalData { get; init; }
}
