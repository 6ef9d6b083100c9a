using DinoSharp.Interop;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>How to open a model string with <see cref="ModelResolver"/>: everything besides the string itself.</summary>
public sealed record ModelRequest
{
    /// <summary>Which tokens form the vector (ignored for raw pixels).</summary>
    public FeatureKind Kind { get; init; } = FeatureKind.Cls;
    /// <summary>Named architecture (<see cref="VisionTransformerVariants"/>) for weights that carry no description of their own.</summary>
    public string? Arch { get; init; }
    /// <summary>A model.json (<see cref="ModelCard"/>) describing the weights, for an architecture that has no name; wins over one beside the weights.</summary>
    public string? ArchFile { get; init; }
    /// <summary>Square input side in pixels; null: the description's, or <see cref="ModelResolver.DefaultInputSize"/>.</summary>
    public int? ImageSize { get; init; }
    /// <summary>Key layout of a weights file; run folders and Hugging Face folders set their own.</summary>
    public CheckpointLayout Layout { get; init; } = CheckpointLayout.Meta;
    /// <summary>Where a TorchSharp backbone runs (null: the CPU); embeddings are returned on the CPU.</summary>
    public Device? Device { get; init; }
    /// <summary>Side N of the raw-pixel baseline for a plain "raw" (callers pass the images' own size, capped; see <see cref="ModelResolver.RawSizeFor"/>).</summary>
    public int RawSize { get; init; } = 28;
    /// <summary>Intra-op threads for runtimes that take them (ONNX Runtime); 0: their default.</summary>
    public int Threads { get; init; }
}
