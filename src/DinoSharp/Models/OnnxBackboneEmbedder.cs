using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Interop;
using DinoSharp.Interop.Onnx;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>
/// A backbone exported by <see cref="OnnxExporter"/>, run by ONNX Runtime on the CPU: the same embeddings as
/// <see cref="BackboneEmbedder"/> (cls, average patch, or both), with the preprocessing and identity read from the
/// model's metadata, so stores written by either backend mix.
/// </summary>
public sealed class OnnxBackboneEmbedder : IImageEmbedder
{
    readonly InferenceSession session;

    /// <summary>Opens an ONNX Runtime session on <paramref name="path"/> and reads its DinoSharp metadata.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="Interop.CheckpointException">The file is not a readable ONNX model or lacks DinoSharp metadata.</exception>
    /// <exception cref="ArgumentException">The graph lacks the outputs <paramref name="kind"/> needs, or cannot take <paramref name="imageSize"/>.</exception>
    /// <param name="path">A .onnx file written by <c>dino export onnx</c>.</param>
    /// <param name="kind">Cls, AvgPatch or ClsAvgPatch (the graph has no intermediate layers for Last4ClsAvgPatch).</param>
    /// <param name="threads">Intra-op threads; 0: one per core.</param>
    /// <param name="optimizedModelPath">Where ORT writes the graph after its optimisations (null: nowhere).</param>
    /// <param name="imageSize">Input side for images (null: the exported preprocessing); a fixed-size graph only takes its own.</param>
    public OnnxBackboneEmbedder(string path, FeatureKind kind = FeatureKind.Cls, int threads = 0, string? optimizedModelPath = null, int? imageSize = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such ONNX model file.", path);
        Path = path;
        using var options = CreateSessionOptions(threads, optimizedModelPath);
        try
        {
            session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CheckpointException($"{path}: not a readable ONNX model ({FirstLine(e.Message)}).", e);
        }
        try
        {
            Metadata = OnnxMetadata.Parse(session.ModelMetadata.CustomMetadataMap, path);
            Kind = kind;
            var needed = kind switch
            {
                FeatureKind.Cls => OnnxOutputs.Cls,
                FeatureKind.AvgPatch => OnnxOutputs.Patch,
                FeatureKind.ClsAvgPatch => OnnxOutputs.Cls | OnnxOutputs.Patch,
                _ => throw new ArgumentException($"--features {BackboneEmbedder.KindName(kind)} is not available from an ONNX model (it needs intermediate layers); use cls, avgpatch or cls+avgpatch."),
            };
            if ((Metadata.Outputs & needed) != needed)
                throw new ArgumentException($"{path}: features '{BackboneEmbedder.KindName(kind)}' need the outputs {OnnxMetadata.FormatOutputs(needed)}, the model has {OnnxMetadata.FormatOutputs(Metadata.Outputs)}.");
            Preprocessing = imageSize is { } size && size != Metadata.Preprocessing.Size ? ModelResolver.PreprocessingFor(size) : Metadata.Preprocessing;
            if (imageSize is not null) CheckImageSize();
            if (Preprocessing.Size % Metadata.Architecture.PatchSize != 0)
                throw new ArgumentException($"Image size {Preprocessing.Size} is not a multiple of the patch size {Metadata.Architecture.PatchSize}.");
            Identity = ModelIdentity.Of(Metadata.Architecture, Metadata.SourceSha256, Preprocessing, BackboneEmbedder.KindName(kind), Metadata.Precision);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The .onnx file as given.</summary>
    public string Path { get; }
    /// <summary>The architecture, preprocessing, source, size and outputs stored in the model at export.</summary>
    public OnnxMetadata Metadata { get; }
    /// <summary>Which tokens form each embedding (Cls, AvgPatch or ClsAvgPatch).</summary>
    public FeatureKind Kind { get; }

    /// <summary>How images are prepared: the exported preprocessing, or another size for a dynamic-size graph.</summary>
    public Preprocessing Preprocessing { get; }
    /// <summary>Architecture and weights content hash from the metadata, the preprocessing and the feature kind: equal to the <see cref="BackboneEmbedder"/> identity of the same weights.</summary>
    public ModelIdentity Identity { get; }

    /// <summary>ORT's CPU settings for inference: all graph optimisations, one intra-op thread per core, sequential execution.</summary>
    public static SessionOptions CreateSessionOptions(int threads = 0, string? optimizedModelPath = null)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        if (optimizedModelPath is not null) options.OptimizedModelFilePath = optimizedModelPath;
        return options;
    }

    /// <summary>The graph's outputs for a preprocessed batch [B, C, H, W] at the exported size (any multiple of the patch for a dynamic graph).</summary>
    public OnnxFeatures Run(Tensor pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        var c = Metadata.Architecture;
        bool ok = pixels.dim() == 4 && pixels.shape[1] == c.InChans && (Metadata.DynamicImageSize
            ? pixels.shape[2] > 0 && pixels.shape[3] > 0 && pixels.shape[2] % c.PatchSize == 0 && pixels.shape[3] % c.PatchSize == 0
            : pixels.shape[2] == Metadata.Height && pixels.shape[3] == Metadata.Width);
        if (!ok)
            throw new ArgumentException($"{Path} takes images [B, {c.InChans}, " +
                (Metadata.DynamicImageSize ? $"H, W] (multiples of {c.PatchSize})" : $"{Metadata.Height}, {Metadata.Width}]") +
                $", got [{string.Join(", ", pixels.shape)}].");
        long[] shape = pixels.shape;
        float[] data;
        using (var cpu = pixels.detach().to(ScalarType.Float32, CPU).contiguous())
            data = cpu.data<float>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(data, shape);
        var names = new[] { OnnxOutputs.Cls, OnnxOutputs.Patch, OnnxOutputs.Registers }.Where(o => Metadata.Outputs.HasFlag(o)).ToList();
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["pixel_values"], [input], names.Select(OnnxMetadata.OutputName).ToArray());
        Tensor? Take(OnnxOutputs which)
        {
            int i = names.IndexOf(which);
            if (i < 0) return null;
            var value = results[i];
            return torch.tensor(value.GetTensorDataAsSpan<float>().ToArray(), value.GetTensorTypeAndShape().Shape);
        }
        return new OnnxFeatures(Take(OnnxOutputs.Cls), Take(OnnxOutputs.Patch), Take(OnnxOutputs.Registers));
    }

    /// <summary>One L2-normalised embedding per image [B, E] of this embedder's kind, from a preprocessed batch.</summary>
    public Tensor Embed(Tensor pixels)
    {
        using var scope = torch.NewDisposeScope();
        using var o = Run(pixels);
        var features = Kind switch
        {
            FeatureKind.Cls => o.ClsToken!,
            FeatureKind.AvgPatch => o.PatchTokens!.mean([1]),
            _ => torch.cat([o.ClsToken!, o.PatchTokens!.mean([1])], 1),
        };
        return nn.functional.normalize(features, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>A fixed-size graph embeds images only when the preprocessing makes them its size.</summary>
    void CheckImageSize()
    {
        int s = Preprocessing.Size;
        if (!Metadata.DynamicImageSize && (s != Metadata.Height || s != Metadata.Width))
            throw new ArgumentException($"{Path} was exported at {Metadata.Height}×{Metadata.Width}, so it cannot embed {s}×{s} images; " +
                $"export it with --size {s} {s} or --size dynamic.");
    }

    /// <summary>[B, E] float32 on the CPU, rows L2-normalised (E = D, or 2D for ClsAvgPatch).</summary>
    /// <exception cref="ArgumentException">A fixed-size graph cannot take the preprocessing size.</exception>
    public Tensor Embed(IReadOnlyList<RgbImage> images)
    {
        CheckImageSize();
        var p = Preprocessing;
        var transform = p.ResizeShorter > 0
            ? EvalTransform.ResizeCenterCrop(p.ResizeShorter, p.Size, Metadata.Architecture.PatchSize)
            : EvalTransform.Resize(p.Size, Metadata.Architecture.PatchSize);
        using var x = transform.ToBatch(images);
        return Embed(x);
    }

    static string FirstLine(string s) => s.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "";

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => session.Dispose();
}
