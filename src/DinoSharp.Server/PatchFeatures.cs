using System.Collections.Concurrent;
using DinoSharp.Data;
using DinoSharp.Interop.Onnx;
using DinoSharp.Models;
using DinoSharp.Visualize;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Server;

/// <summary>
/// Patch tokens of whole images (stretched to size × size, no centre crop, so the grid covers the picture as
/// `dino visualize` does) for the patch view, from a TorchSharp backbone or an ONNX graph exported with patch outputs;
/// the last block's attention for a TorchSharp Vision Transformer. Callers run these inside <see cref="TorchWork"/>.
/// </summary>
sealed class PatchFeatures(IImageEmbedder embedder)
{
    const int CachedGrids = 32;
    readonly ConcurrentDictionary<int, FeatureExtractor> extractors = new();
    readonly ConcurrentDictionary<(int Row, int Size), PatchGrid> grids = new();
    readonly object extractorSync = new();

    /// <summary>Null when patch maps work, else why not (shown by the page).</summary>
    public string? Unavailable => embedder switch
    {
        BackboneEmbedder => null,
        OnnxBackboneEmbedder o when o.Metadata.Outputs.HasFlag(OnnxOutputs.Patch) => null,
        OnnxBackboneEmbedder => "this ONNX graph was exported without patch outputs (export it with --outputs cls,patch).",
        _ => "raw pixels have no patch tokens; use a backbone for the patch view.",
    };

    /// <summary>Null when attention maps work, else why not.</summary>
    public string? AttentionUnavailable => embedder is BackboneEmbedder ? null
        : "attention maps need a TorchSharp Vision Transformer; this model has none (similarity maps and PCA still work where patch tokens exist).";

    /// <summary>Patch side in pixels (0 without patches).</summary>
    public int PatchSize => embedder switch
    {
        BackboneEmbedder b => b.Extractor.Backbone.PatchSize,
        OnnxBackboneEmbedder o => o.Metadata.Architecture.PatchSize,
        _ => 0,
    };

    /// <summary>Input side used when the request names none: the model's own.</summary>
    public int DefaultSize => embedder switch
    {
        BackboneEmbedder b => b.Extractor.Preprocessing.Size,
        OnnxBackboneEmbedder o => o.Metadata.Height ?? o.Preprocessing.Size,
        _ => 0,
    };

    /// <summary>Refuses a size the model cannot take (not a multiple of the patch, or not the fixed size of an ONNX graph).</summary>
    public void CheckSize(int size)
    {
        if (Unavailable is { } why) throw new BadRequestException(why, StatusCodes.Status409Conflict);
        if (size % PatchSize != 0)
            throw new BadRequestException($"'size={size}' is not a multiple of the patch size {PatchSize}.");
        if (embedder is OnnxBackboneEmbedder { Metadata.DynamicImageSize: false } o && size != o.Metadata.Height)
            throw new BadRequestException($"'size={size}': this ONNX graph was exported at {o.Metadata.Height}×{o.Metadata.Width}; use size={o.Metadata.Height}.");
    }

    /// <summary>The patch grid of indexed row <paramref name="row"/> at <paramref name="size"/> (cached: the same row is asked for again as patches are clicked).</summary>
    public PatchGrid Grid(int row, RowImages images, int size)
    {
        if (grids.TryGetValue((row, size), out var grid)) return grid;
        grid = Compute(images.Load(row), size);
        if (grids.Count >= CachedGrids) grids.Clear();
        grids[(row, size)] = grid;
        return grid;
    }

    /// <summary>Patch features of one image at <paramref name="size"/>.</summary>
    public PatchGrid Compute(RgbImage image, int size)
    {
        CheckSize(size);
        Tensor tokens;                                                                   // [1, h·w, D]
        if (embedder is OnnxBackboneEmbedder onnx)
        {
            using var x = EvalTransform.Resize(size, PatchSize).ToBatch([image]);
            using var o = onnx.Run(x);
            tokens = o.PatchTokens!.alias();
        }
        else
        {
            using var features = Extractor(size).Extract([image]);
            tokens = features.PatchTokens.cpu();
        }
        using (tokens)
        using (var unit = nn.functional.normalize(tokens[0].to(ScalarType.Float32), dim: 1).contiguous())
        {
            int grid = size / PatchSize;
            return new PatchGrid(grid, grid, (int)unit.shape[1], unit.data<float>().ToArray());
        }
    }

    /// <summary>PCA colouring fitted jointly over the given grids (one pixel per patch each).</summary>
    public static IReadOnlyList<RgbImage> Pca(IReadOnlyList<PatchGrid> parts)
    {
        var first = parts[0];
        var all = parts.SelectMany(p => p.Features).ToArray();
        using var tokens = torch.tensor(all, [parts.Count, first.Height, first.Width, first.Dimension]);
        return PatchPca.Compute(tokens).Images;
    }

    /// <summary>The last block's cls-to-patch attention per head, painted over the image (as `dino visualize` draws it).</summary>
    public RgbImage Attention(RgbImage image, int size)
    {
        if (AttentionUnavailable is { } why) throw new BadRequestException(why, StatusCodes.Status409Conflict);
        CheckSize(size);
        var extractor = Extractor(size);
        using var x = extractor.Preprocess([image]);
        using var maps = extractor.ClsAttentionMaps(x).cpu();                           // [1, heads, h, w]
        return AttentionMapPainter.Render(maps[0], new AttentionMapOptions { TileSize = 160, Background = image });
    }

    /// <summary>One extractor per input size over the same backbone (made once: construction touches the module's mode and device).</summary>
    FeatureExtractor Extractor(int size)
    {
        if (extractors.TryGetValue(size, out var e)) return e;
        lock (extractorSync)
        {
            if (extractors.TryGetValue(size, out e)) return e;
            var b = (BackboneEmbedder)embedder;
            e = new FeatureExtractor(b.Extractor.Backbone, b.Extractor.Preprocessing with { Size = size, ResizeShorter = 0 }, b.Extractor.Device);
            extractors[size] = e;
            return e;
        }
    }
}
