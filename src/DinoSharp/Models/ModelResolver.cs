using DinoSharp.Interop;
using DinoSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>
/// Turns the --model string every command shares into an embedder:
/// <list type="bullet">
/// <item><c>raw</c> (or <c>raw:N</c>): pixels resized to N×N (default: the rawSize argument), flattened;</item>
/// <item><c>random:&lt;arch or config&gt;</c>: an untrained network (seed 0) of a named architecture or of a config file / shipped config;</item>
/// <item>a run folder: its teacher_backbone.safetensors and model.json, or, while training, the newest checkpoint's teacher;</item>
/// <item>a .safetensors or .pth backbone file: with the model.json beside it, or with <c>--arch</c>.</item>
/// </list>
/// </summary>
public static class ModelResolver
{
    /// <summary>The embedder a --model string names (see the type description for the accepted forms).</summary>
    /// <param name="model">raw[:N], random:&lt;arch|config&gt;, a run folder, a Hugging Face folder, or a .safetensors / .pth backbone.</param>
    /// <param name="kind">Which tokens form the vector (ignored for raw pixels).</param>
    /// <param name="arch">Architecture name for weights without a model.json (required for Hugging Face folders).</param>
    /// <param name="imageSize">Square input side in pixels; null: the model card's, or <see cref="DefaultInputSize"/>.</param>
    /// <param name="layout">Key layout of a weights file; a run folder or Hugging Face folder sets it itself.</param>
    /// <param name="device">Where the backbone runs (CPU by default); embeddings are returned on the CPU.</param>
    /// <param name="rawSize">Side N of the raw-pixel baseline for a plain "raw".</param>
    /// <exception cref="FileNotFoundException">The file or folder does not exist, or the folder is neither a run nor a Hugging Face folder.</exception>
    /// <exception cref="ArgumentException">The string is malformed, or a weights file has no model.json and no <paramref name="arch"/>.</exception>
    /// <exception cref="Interop.CheckpointException">The weights do not match the architecture or cannot be read.</exception>
    public static IImageEmbedder Open(string model, FeatureKind kind = FeatureKind.Cls, string? arch = null, int? imageSize = null,
        CheckpointLayout layout = CheckpointLayout.Meta, Device? device = null, int rawSize = 28)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model == "raw") return new RawPixelEmbedder(rawSize);
        if (model.StartsWith("raw:", StringComparison.Ordinal))
            return new RawPixelEmbedder(int.TryParse(model[4..], out var n) ? n : throw new ArgumentException($"--model {model}: expected raw:<size>, e.g. raw:28."));
        var resolved = OpenBackbone(model, arch, imageSize, layout);
        var extractor = new FeatureExtractor(resolved.Backbone, resolved.Preprocessing, device, ownsBackbone: true);
        return new BackboneEmbedder(extractor, kind, resolved.Source, resolved.WeightsSha256);
    }

    /// <summary>
    /// The backbone behind a --model string (<c>random:…</c>, a run folder or a weights file; not <c>raw</c>) on the
    /// CPU, with its preprocessing, source name and weights hash: what an embedder is built from, for callers that
    /// need the network itself (ONNX export).
    /// </summary>
    public static ResolvedBackbone OpenBackbone(string model, string? arch = null, int? imageSize = null, CheckpointLayout layout = CheckpointLayout.Meta)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (IsRawPixels(model))
            throw new ArgumentException($"--model {model}: raw pixels are not a backbone.");
        if (model.StartsWith("random:", StringComparison.Ordinal))
            return Random(model["random:".Length..], imageSize);
        var (weights, card, source) = Locate(model, arch, imageSize, ref layout);
        return new ResolvedBackbone(LoadBackbone(card, weights, layout), card.Preprocessing, source, CheckpointStore.Sha256(weights));
    }

    /// <summary>The network a model card describes (a ViT or a ConvNeXt) with the weights of <paramref name="weights"/>, every key and shape checked.</summary>
    /// <exception cref="Interop.CheckpointException">The weights do not match the architecture or cannot be read.</exception>
    public static IDinoBackbone LoadBackbone(ModelCard card, string weights, CheckpointLayout layout = CheckpointLayout.Meta)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (card.ConvNeXt is { } convNeXtConfig)
        {
            var convNeXt = new ConvNeXt(convNeXtConfig);
            try { ConvNeXtCheckpoint.Load(convNeXt, weights, layout); }
            catch { convNeXt.Dispose(); throw; }
            return convNeXt;
        }
        var vit = new DinoVisionTransformer(card.Backbone);
        try { BackboneCheckpoint.Load(vit, weights, layout); }
        catch { vit.Dispose(); throw; }
        return vit;
    }

    /// <summary>Every name --arch accepts: the ViT variants, then the DINOv3 ConvNeXts.</summary>
    public static IEnumerable<string> ArchitectureNames => VisionTransformerVariants.Names.Concat(ConvNeXtVariants.Names);

    /// <summary>True for <c>raw</c> and <c>raw:N</c>, the raw-pixel baseline (it has no feature kind).</summary>
    public static bool IsRawPixels(string model) => model == "raw" || model.StartsWith("raw:", StringComparison.Ordinal);

    static ResolvedBackbone Random(string what, int? imageSize)
    {
        if (ConvNeXtVariants.IsKnown(what))
        {
            using var g = new torch.Generator(0);
            return new ResolvedBackbone(new ConvNeXt(ConvNeXtVariants.Get(what), g), PreprocessingFor(imageSize ?? ConvNeXtInputSize),
                $"random:{what}", "untrained-seed0");
        }
        VisionTransformerConfig backbone;
        if (File.Exists(what)) backbone = SslMetaArch.ResolveBackbone(TrainingConfigLoader.Resolve(what));
        else if (DefaultConfigs.Names.Contains(what)) backbone = SslMetaArch.ResolveBackbone(DefaultConfigs.Load(what));
        else backbone = VisionTransformerVariants.Get(what);
        int size = imageSize ?? DefaultInputSize(backbone);
        using var generator = new torch.Generator(0);
        return new ResolvedBackbone(new DinoVisionTransformer(backbone, generator), PreprocessingFor(size), $"random:{what}", "untrained-seed0");
    }

    /// <summary>Input size when none is given: 224 for backbones learned above it (Meta's, at 518), else the learned size (28 for vit_pico_p14).</summary>
    public static int DefaultInputSize(VisionTransformerConfig backbone) => Math.Min(backbone.ImgSize, 224);

    /// <summary>Input size of a ConvNeXt when none is given: 224, as the released models were evaluated.</summary>
    public const int ConvNeXtInputSize = 224;

    /// <summary>Preprocessing for a square input: stretch tiny images, resize-and-centre-crop larger ones (ratio 256/224).</summary>
    public static Preprocessing PreprocessingFor(int size) =>
        new() { Size = size, ResizeShorter = size < 64 ? 0 : (int)Math.Round(size * 256.0 / 224) };

    static (string Weights, ModelCard Card, string Source) Locate(string model, string? arch, int? imageSize, ref CheckpointLayout layout)
    {
        if (Directory.Exists(model))
        {
            string teacher = Path.Combine(model, "teacher_backbone.safetensors");
            string cardPath = Path.Combine(model, "model.json");
            if (File.Exists(teacher) && File.Exists(cardPath))
                return (teacher, WithSize(ModelCard.Load(cardPath), imageSize), Path.GetFileName(Path.GetFullPath(model)));
            string hf = Path.Combine(model, "model.safetensors");
            string hfConfig = Path.Combine(model, "config.json");
            if (File.Exists(hf) && File.Exists(hfConfig) && arch is null && HuggingFaceDinov3Layout.IsDinov3Config(File.ReadAllText(hfConfig)))
            {
                // A DINOv3ViTModel folder describes its own architecture.
                layout = CheckpointLayout.HuggingFace;
                var backbone = HuggingFaceDinov3Layout.ConfigFromJson(File.ReadAllText(hfConfig), hfConfig);
                return (hf, new ModelCard { Backbone = backbone, Preprocessing = PreprocessingFor(imageSize ?? DefaultInputSize(backbone)) },
                    Path.GetFileName(Path.GetFullPath(model)));
            }
            if (File.Exists(hf) && File.Exists(hfConfig) && arch is null && IsConvNeXtConfig(File.ReadAllText(hfConfig)))
            {
                // A DINOv3ConvNextModel folder describes its own architecture too.
                layout = CheckpointLayout.HuggingFace;
                var convNeXt = ConvNeXtHuggingFaceLayout.ParseConfig(File.ReadAllText(hfConfig), hfConfig);
                return (hf, new ModelCard { ConvNeXt = convNeXt, Preprocessing = PreprocessingFor(imageSize ?? ConvNeXtInputSize) },
                    Path.GetFileName(Path.GetFullPath(model)));
            }
            if (File.Exists(hf) && File.Exists(hfConfig) && arch is not null)
            {
                layout = CheckpointLayout.HuggingFace;
                return (hf, CardFor(arch, imageSize), arch);
            }
            var store = new CheckpointStore(Path.Combine(model, "checkpoints"), 1);
            var configPath = Path.Combine(model, "config.json");
            if (store.Latest() is { } ckpt && File.Exists(configPath))
            {
                layout = CheckpointLayout.MetaTrainingTeacher;
                var config = TrainingConfigLoader.Resolve(configPath);
                var backbone = SslMetaArch.ResolveBackbone(config) with { DropPathRate = 0 };
                return (Path.Combine(ckpt.Path, "model.safetensors"), new ModelCard { Backbone = backbone, Preprocessing = PreprocessingFor(imageSize ?? config.Crops.GlobalCropsSize) },
                    $"{Path.GetFileName(Path.GetFullPath(model))}@{ckpt.State.Step}");
            }
            throw new FileNotFoundException($"{model}: not a run folder (no teacher_backbone.safetensors with model.json, and no checkpoint) nor a Hugging Face folder (model.safetensors + config.json, with --arch).");
        }
        if (!File.Exists(model))
            throw new FileNotFoundException($"--model {model}: no such file or folder. Use a run folder, a .safetensors/.pth backbone, raw, or random:<arch>.");
        foreach (var candidate in new[] { Path.ChangeExtension(model, ".json"), Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "model.json") })
            if (arch is null && File.Exists(candidate) && IsModelCard(candidate))
                return (model, WithSize(ModelCard.Load(candidate), imageSize), Path.GetFileName(model));
        if (arch is null)
            throw new ArgumentException($"{model}: no model.json beside it; name the architecture with --arch (one of {string.Join(", ", ArchitectureNames)}).");
        return (model, CardFor(arch, imageSize), arch);
    }

    static bool IsModelCard(string path)
    {
        try { return File.ReadAllText(path).Contains("\"backbone\"", StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }

    static bool IsConvNeXtConfig(string configJson)
    {
        try { return System.Text.Json.Nodes.JsonNode.Parse(configJson)?["model_type"]?.GetValue<string>() == "dinov3_convnext"; }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { return false; }
    }

    static ModelCard CardFor(string arch, int? imageSize)
    {
        if (ConvNeXtVariants.IsKnown(arch))
            return new ModelCard { ConvNeXt = ConvNeXtVariants.Get(arch), Preprocessing = PreprocessingFor(imageSize ?? ConvNeXtInputSize) };
        VisionTransformerConfig backbone;
        try { backbone = VisionTransformerVariants.Get(arch); }
        catch (ArgumentException e) { throw new ArgumentException($"{e.Message.TrimEnd('.')}, {string.Join(", ", ConvNeXtVariants.Names)}.", e); }
        int size = imageSize ?? DefaultInputSize(backbone);
        var preprocessing = PreprocessingFor(size);
        if (VisionTransformerVariants.PixelStatistics(arch) is { } stats)
            preprocessing = preprocessing with { Mean = stats.Mean, Std = stats.Std };
        return new ModelCard { Backbone = backbone, Preprocessing = preprocessing };
    }

    static ModelCard WithSize(ModelCard card, int? size) =>
        size is { } s ? card with { Preprocessing = PreprocessingFor(s) } : card;
}
