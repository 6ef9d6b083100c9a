using DinoSharp.Data;
using DinoSharp.Interop;
using DinoSharp.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>Which vector stands for an image.</summary>
public enum FeatureKind
{
    /// <summary>The normalised cls token (DINOv2's kNN protocol).</summary>
    Cls,
    /// <summary>The average of the normalised patch tokens.</summary>
    AvgPatch,
    /// <summary>cls ‖ average patch token (DINOv2's linear protocol with avgpool).</summary>
    ClsAvgPatch,
    /// <summary>cls tokens of the last four blocks ‖ average patch token of the last block (DINOv2's linear "4 blocks + avgpool").</summary>
    Last4ClsAvgPatch,
}

/// <summary>Features of a batch of images.</summary>
/// <param name="ClsToken">Normalised cls token [B, D].</param>
/// <param name="PatchTokens">Normalised patch tokens [B, GridHeight·GridWidth, D], row-major over the grid.</param>
/// <param name="RegisterTokens">Normalised register tokens [B, R, D] (R may be 0).</param>
/// <param name="GridHeight">Patch rows of the input.</param>
/// <param name="GridWidth">Patch columns of the input.</param>
public sealed record ImageFeatures(Tensor ClsToken, Tensor PatchTokens, Tensor RegisterTokens, int GridHeight, int GridWidth) : IDisposable
{
    /// <summary>Frees the three token tensors.</summary>
    public void Dispose()
    {
        ClsToken.Dispose();
        PatchTokens.Dispose();
        RegisterTokens.Dispose();
    }
}

/// <summary>
/// Decoded images in, embeddings out: resize/crop to a multiple of the patch size, ImageNet normalisation, batched
/// inference in inference mode on the chosen device.
/// </summary>
public sealed class FeatureExtractor : IDisposable
{
    readonly bool ownsBackbone;
    readonly nn.Module module;

    /// <summary>Moves <paramref name="backbone"/> to <paramref name="device"/> and puts it in eval mode.</summary>
    /// <param name="backbone">The network (a <see cref="DinoVisionTransformer"/> or a <see cref="ConvNeXt"/>); it is moved, not copied.</param>
    /// <param name="preprocessing">Input size (a multiple of the patch size), resize and normalisation.</param>
    /// <param name="device">Where inference runs; null: the CPU.</param>
    /// <param name="ownsBackbone">Dispose <paramref name="backbone"/> with the extractor.</param>
    /// <exception cref="ArgumentException">The preprocessing size is not a multiple of the patch size, or the backbone is not a TorchSharp module.</exception>
    public FeatureExtractor(IDinoBackbone backbone, Preprocessing preprocessing, Device? device = null, bool ownsBackbone = false)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(preprocessing);
        if (preprocessing.Size % backbone.PatchSize != 0)
            throw new ArgumentException($"Preprocessing size {preprocessing.Size} is not a multiple of the patch size {backbone.PatchSize}.");
        module = backbone as nn.Module ?? throw new ArgumentException($"{backbone.GetType().Name} is not a TorchSharp module.", nameof(backbone));
        Backbone = backbone;
        Preprocessing = preprocessing;
        Device = device ?? CPU;
        this.ownsBackbone = ownsBackbone;
        Transform = preprocessing.ResizeShorter > 0
            ? EvalTransform.ResizeCenterCrop(preprocessing.ResizeShorter, preprocessing.Size, backbone.PatchSize)
            : EvalTransform.Resize(preprocessing.Size, backbone.PatchSize);
        module.to(Device);
        module.eval();
    }

    /// <summary>The network, in eval mode on <see cref="Device"/>.</summary>
    public IDinoBackbone Backbone { get; }
    /// <summary>How images are resized, cropped and normalised; part of the embedding identity.</summary>
    public Preprocessing Preprocessing { get; }
    /// <summary>Where the backbone and its inputs live.</summary>
    public Device Device { get; }
    /// <summary>The image → [3, S, S] transform built from <see cref="Preprocessing"/> (resize shorter side and centre-crop, or stretch when ResizeShorter is 0).</summary>
    public EvalTransform Transform { get; }

    /// <summary>Loads a backbone file with its model.json (or a named architecture when there is none).</summary>
    public static FeatureExtractor Load(string weights, ModelCard card, CheckpointLayout layout = CheckpointLayout.Meta, Device? device = null)
    {
        return new FeatureExtractor(ModelResolver.LoadBackbone(card, weights, layout), card.Preprocessing, device, ownsBackbone: true);
    }

    /// <summary>
    /// The compute precision of the forwards (<see cref="Layers.Precision.Fp32"/> unless set; <see cref="Layers.Precision.Auto"/>
    /// is resolved when a forward runs). The outputs are float32 either way.
    /// </summary>
    public Precision Precision { get; set; } = Precision.Fp32;

    /// <summary>The model input tensor [B, 3, S, S] for these images (on the extractor's device).</summary>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
    {
        using var cpu = Transform.ToBatch(images);
        return cpu.to(Device);
    }

    /// <summary>cls, patch and register tokens of a batch of images.</summary>
    public ImageFeatures Extract(IReadOnlyList<RgbImage> images)
    {
        using var _ = torch.inference_mode();
        using var x = Preprocess(images);
        return Extract(x);
    }

    /// <summary>cls, patch and register tokens of an already preprocessed batch [B, 3, H, W].</summary>
    public ImageFeatures Extract(Tensor x)
    {
        using var _ = torch.inference_mode();
        using var precision = ComputePrecision.Use(Precision);
        using var output = Backbone.ForwardFeatures(x);
        return new ImageFeatures(output.ClsToken.alias(), output.PatchTokens.alias(), output.RegisterTokens.alias(),
            (int)(x.shape[2] / Backbone.PatchSize), (int)(x.shape[3] / Backbone.PatchSize));
    }

    /// <summary>
    /// The last block's attention from the class token to every patch, per head: [B, heads, h, w] float32 (register
    /// tokens dropped; each head's row sums to 1 over cls, registers and patches before they are dropped), as in the
    /// DINO papers' attention figures.
    /// </summary>
    /// <exception cref="NotSupportedException">The backbone is not a ViT (a ConvNeXt has no attention).</exception>
    public Tensor ClsAttentionMaps(Tensor x)
    {
        if (Backbone is not DinoVisionTransformer vit)
            throw new NotSupportedException($"Attention maps need a Vision Transformer; this backbone is a {Backbone.GetType().Name}, which has no attention (its PCA of patch features still works).");
        using var _ = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        using var precision = ComputePrecision.Use(Precision);
        var weights = vit.LastBlockAttention(x);                                          // [B, heads, T, T]
        int first = 1 + vit.NumRegisterTokens;
        long b = x.shape[0], heads = weights.shape[1];
        long h = x.shape[2] / Backbone.PatchSize, w = x.shape[3] / Backbone.PatchSize;
        var clsToPatches = weights.select(2, 0).narrow(2, first, h * w);                 // [B, heads, h·w]
        return clsToPatches.reshape(b, heads, h, w).to(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>One L2-normalised embedding per image [B, E] of the requested kind.</summary>
    public Tensor Embed(Tensor x, FeatureKind kind = FeatureKind.Cls)
    {
        using var _ = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        using var precision = ComputePrecision.Use(Precision);
        Tensor features;
        if (kind == FeatureKind.Last4ClsAvgPatch)
        {
            // A ViT's last four blocks, or a ConvNeXt's four stages (their cls widths differ; the concatenation is still one vector).
            int depth = Backbone is DinoVisionTransformer vit ? vit.Depth : ConvNeXtConfig.Stages;
            var layers = Backbone.GetIntermediateLayers(x, Math.Min(4, depth));
            features = torch.cat([.. layers.Select(l => l.ClsToken), layers[^1].PatchTokens.mean([1])], 1);
        }
        else
        {
            var o = Backbone.ForwardFeatures(x);
            features = kind switch
            {
                FeatureKind.Cls => o.ClsToken,
                FeatureKind.AvgPatch => o.PatchTokens.mean([1]),
                FeatureKind.ClsAvgPatch => torch.cat([o.ClsToken, o.PatchTokens.mean([1])], 1),
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
        }
        return nn.functional.normalize(features, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>Embeddings of decoded images, in batches.</summary>
    public Tensor Embed(IReadOnlyList<RgbImage> images, FeatureKind kind = FeatureKind.Cls)
    {
        using var x = Preprocess(images);
        return Embed(x, kind);
    }

    /// <summary>Disposes the backbone when the extractor was created owning it; otherwise does nothing.</summary>
    public void Dispose()
    {
        if (ownsBackbone) module.Dispose();
    }
}
