using DinoSharp.Interop;
using DinoSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>
/// Turns the --model string every command shares into an embedder:
/// <list type="bullet">
/// <item><c>raw</c> (or <c>raw:N</c>): pixels resized to N×N (default: the rawSize argument), flattened;</item>
/// <item><c>random:&lt;arch or config&gt;</c>: an untrained network (seed 0) of a named architecture (with LayerScale
/// <see cref="RandomLayerScaleInit"/>, see <see cref="DescribeRandom"/>) or of a config file / shipped config (its own init);</item>
/// <item>a run folder: its teacher_backbone.safetensors and model.json, or, while training, the newest checkpoint's teacher;</item>
/// <item>a Hugging Face folder (model.safetensors and config.json, whose sizes it reads);</item>
/// <item>a .safetensors or .pth backbone file: with the model.json beside it, <c>--arch-file</c> or <c>--arch</c>;</item>
/// <item>a .onnx file, or any form an <see cref="IModelFormat"/> in <see cref="DefaultFormats"/> (or the caller's list) recognises.</item>
/// </list>
/// Weights without a description of their own are described by, in this order: <see cref="ModelRequest.ArchFile"/>
/// (a model.json), <see cref="ModelRequest.Arch"/> (a named variant), a model.json (or &lt;name&gt;.json) beside them,
/// and for a Hugging Face folder its own config.json.
/// </summary>
public static class ModelResolver
{
    /// <summary>The optional formats tried before the built-in ones: ONNX.</summary>
    public static IReadOnlyList<IModelFormat> DefaultFormats { get; } = [OnnxModelFormat.Instance];

    /// <summary>The embedder a --model string names (see the type description for the accepted forms).</summary>
    /// <param name="model">raw[:N], random:&lt;arch|config&gt;, a run folder, a Hugging Face folder, a .safetensors / .pth backbone, or a form of <paramref name="formats"/>.</param>
    /// <param name="request">Feature kind, architecture description, input size, layout, device.</param>
    /// <param name="formats">Formats tried first, in order (null: <see cref="DefaultFormats"/>; empty: TorchSharp only).</param>
    /// <exception cref="FileNotFoundException">The file or folder does not exist, or the folder is neither a run nor a Hugging Face folder.</exception>
    /// <exception cref="ArgumentException">The string is malformed, or weights have no description (see the type description).</exception>
    /// <exception cref="Interop.CheckpointException">The weights do not match the architecture or cannot be read.</exception>
    public static IImageEmbedder Open(string model, ModelRequest request, IEnumerable<IModelFormat>? formats = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        if (model == "raw") return new RawPixelEmbedder(request.RawSize);
        if (model.StartsWith("raw:", StringComparison.Ordinal))
            return new RawPixelEmbedder(int.TryParse(model[4..], out var n) && n > 0 ? n : throw new ArgumentException($"--model {model}: expected raw:<size>, e.g. raw:28."));
        foreach (var format in formats ?? DefaultFormats)
            if (format.Recognises(model)) return format.Open(model, request);
        var resolved = OpenBackbone(model, request);
        var extractor = new FeatureExtractor(resolved.Backbone, resolved.Preprocessing, request.Device, ownsBackbone: true);
        return new BackboneEmbedder(extractor, request.Kind, resolved.Source, resolved.WeightsSha256);
    }

    /// <summary>The embedder a --model string names; see <see cref="Open(string, ModelRequest, IEnumerable{IModelFormat})"/>.</summary>
    /// <param name="model">raw[:N], random:&lt;arch|config&gt;, a run folder, a Hugging Face folder, a .safetensors / .pth backbone or a .onnx file.</param>
    /// <param name="kind">Which tokens form the vector (ignored for raw pixels).</param>
    /// <param name="arch">Architecture name for weights without a model.json.</param>
    /// <param name="imageSize">Square input side in pixels; null: the model card's, or <see cref="DefaultInputSize"/>.</param>
    /// <param name="layout">Key layout of a weights file; a run folder or Hugging Face folder sets it itself.</param>
    /// <param name="device">Where the backbone runs (CPU by default); embeddings are returned on the CPU.</param>
    /// <param name="rawSize">Side N of the raw-pixel baseline for a plain "raw".</param>
    public static IImageEmbedder Open(string model, FeatureKind kind = FeatureKind.Cls, string? arch = null, int? imageSize = null,
        CheckpointLayout layout = CheckpointLayout.Meta, Device? device = null, int rawSize = 28) =>
        Open(model, new ModelRequest { Kind = kind, Arch = arch, ImageSize = imageSize, Layout = layout, Device = device, RawSize = rawSize });

    /// <summary>
    /// The backbone behind a --model string (<c>random:…</c>, a run folder or a weights file; not <c>raw</c>) on the
    /// CPU, with its preprocessing, source name and weights hash: what an embedder is built from, for callers that
    /// need the network itself (ONNX export).
    /// </summary>
    public static ResolvedBackbone OpenBackbone(string model, string? arch = null, int? imageSize = null, CheckpointLayout layout = CheckpointLayout.Meta) =>
        OpenBackbone(model, new ModelRequest { Arch = arch, ImageSize = imageSize, Layout = layout });

    /// <summary>The backbone behind a --model string, described as <paramref name="request"/> says (its Kind and Device are not used).</summary>
    public static ResolvedBackbone OpenBackbone(string model, ModelRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        if (IsRawPixels(model))
            throw new ArgumentException($"--model {model}: raw pixels are not a backbone.");
        if (model.StartsWith("random:", StringComparison.Ordinal))
            return Random(model["random:".Length..], request.ImageSize);
        var layout = request.Layout;
        var (weights, card, source) = Locate(model, request, ref layout);
        var backbone = LoadBackbone(card, weights, layout);
        return new ResolvedBackbone(backbone, card.Preprocessing, source, WeightsContent.Sha256((nn.Module)backbone));
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

    /// <summary>Side of the raw-pixel baseline for images <paramref name="imageWidth"/> wide: their own size up to 32 (28 for Fashion-MNIST; photos are not flattened at 512×512, 786,432 dimensions).</summary>
    public static int RawSizeFor(int imageWidth) => Math.Clamp(imageWidth, 1, 32);

    /// <summary>True for <c>raw</c> and <c>raw:N</c>, the raw-pixel baseline (it has no feature kind).</summary>
    public static bool IsRawPixels(string model) => model == "raw" || model.StartsWith("raw:", StringComparison.Ordinal);

    /// <summary>
    /// LayerScale init of <c>random:&lt;arch&gt;</c>. The named variants carry the reference's training init, 1e-5, under
    /// which an untrained network's blocks barely touch the tokens: every image then gets the same cls embedding
    /// (pairwise cosine 1.000000) and the untrained baseline is degenerate. 1.0, the default config's value, gives the
    /// meaningful untrained baseline that <c>random:&lt;run&gt;/config.json</c> also gives.
    /// </summary>
    public const double RandomLayerScaleInit = 1.0;

    /// <summary>The untrained network <c>random:&lt;what&gt;</c> builds (seed 0 in every case).</summary>
    /// <param name="what">A named architecture, a training config file, or a shipped config's name.</param>
    /// <exception cref="ArgumentException">None of these.</exception>
    public static VisionTransformerConfig RandomBackbone(string what)
    {
        ArgumentNullException.ThrowIfNull(what);
        if (File.Exists(what)) return SslMetaArch.ResolveBackbone(TrainingConfigLoader.Resolve(what));
        if (DefaultConfigs.Names.Contains(what)) return SslMetaArch.ResolveBackbone(DefaultConfigs.Load(what));
        return VisionTransformerVariants.Get(what) with { InitValues = RandomLayerScaleInit };
    }

    /// <summary>One line saying how <c>random:&lt;what&gt;</c> is initialised, for a command to print before using it.</summary>
    public static string DescribeRandom(string what)
    {
        var backbone = RandomBackbone(what);
        string origin = File.Exists(what) || DefaultConfigs.Names.Contains(what) ? $"the backbone of config {what}" : $"architecture {what}";
        string init = backbone.InitValues.ToString("G", System.Globalization.CultureInfo.InvariantCulture);
        return $"random:{what}: untrained {origin}, seed 0, LayerScale init {init}" +
            (backbone.InitValues < 1e-3 ? " (the reference training init: expect near-identical cls embeddings)" : "");
    }

    static ResolvedBackbone Random(string what, int? imageSize)
    {
        if (ConvNeXtVariants.IsKnown(what))
        {
            using var g = new torch.Generator(0);
            var convNeXt = new ConvNeXt(ConvNeXtVariants.Get(what), g);
            return new ResolvedBackbone(convNeXt, PreprocessingFor(imageSize ?? ConvNeXtInputSize), $"random:{what}", WeightsContent.Sha256(convNeXt));
        }
        var backbone = RandomBackbone(what);
        int size = imageSize ?? DefaultInputSize(backbone);
        using var generator = new torch.Generator(0);
        var vit = new DinoVisionTransformer(backbone, generator);
        return new ResolvedBackbone(vit, PreprocessingFor(size), $"random:{what}", WeightsContent.Sha256(vit));
    }

    /// <summary>Input size when none is given: 224 for backbones learned above it (Meta's, at 518), else the learned size (28 for vit_pico_p14).</summary>
    public static int DefaultInputSize(VisionTransformerConfig backbone) => Math.Min(backbone.ImgSize, 224);

    /// <summary>Input size of a ConvNeXt when none is given: 224, as the released models were evaluated.</summary>
    public const int ConvNeXtInputSize = 224;

    /// <summary>Preprocessing for a square input: stretch tiny images, resize-and-centre-crop larger ones (ratio 256/224).</summary>
    public static Preprocessing PreprocessingFor(int size) =>
        new() { Size = size, ResizeShorter = size < 64 ? 0 : (int)Math.Round(size * 256.0 / 224) };

    static (string Weights, ModelCard Card, string Source) Locate(string model, ModelRequest request, ref CheckpointLayout layout)
    {
        var (arch, imageSize) = (request.Arch, request.ImageSize);
        ModelCard? fromFile = request.ArchFile is { } archFile ? WithSize(LoadCard(archFile), imageSize) : null;
        if (Directory.Exists(model))
        {
            string teacher = Path.Combine(model, "teacher_backbone.safetensors");
            string cardPath = Path.Combine(model, "model.json");
            if (File.Exists(teacher) && File.Exists(cardPath))
                return (teacher, WithSize(ModelCard.Load(cardPath), imageSize), Path.GetFileName(Path.GetFullPath(model)));
            string hf = Path.Combine(model, "model.safetensors");
            string hfConfig = Path.Combine(model, "config.json");
            if (File.Exists(hf) && File.Exists(hfConfig) && arch is null && fromFile is null && HuggingFaceDinov3Layout.IsDinov3Config(File.ReadAllText(hfConfig)))
            {
                // A DINOv3ViTModel folder describes its own architecture.
                layout = CheckpointLayout.HuggingFace;
                var backbone = HuggingFaceDinov3Layout.ConfigFromJson(File.ReadAllText(hfConfig), hfConfig);
                return (hf, new ModelCard { Backbone = backbone, Preprocessing = PreprocessingFor(imageSize ?? DefaultInputSize(backbone)) },
                    Path.GetFileName(Path.GetFullPath(model)));
            }
            if (File.Exists(hf) && File.Exists(hfConfig) && arch is null && fromFile is null && IsConvNeXtConfig(File.ReadAllText(hfConfig)))
            {
                // A DINOv3ConvNextModel folder describes its own architecture too.
                layout = CheckpointLayout.HuggingFace;
                var convNeXt = ConvNeXtHuggingFaceLayout.ParseConfig(File.ReadAllText(hfConfig), hfConfig);
                return (hf, new ModelCard { ConvNeXt = convNeXt, Preprocessing = PreprocessingFor(imageSize ?? ConvNeXtInputSize) },
                    Path.GetFileName(Path.GetFullPath(model)));
            }
            if (File.Exists(hf) && File.Exists(hfConfig) && HuggingFaceLayout.IsHuggingFaceConfig(hfConfig))
            {
                layout = CheckpointLayout.HuggingFace;
                var card = fromFile ?? (arch is not null ? CardFor(arch, imageSize) : CardFor(HuggingFaceLayout.ReadConfig(hfConfig), imageSize));
                return (hf, card, arch ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model))));
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
            throw new FileNotFoundException($"{model}: not a run folder (no teacher_backbone.safetensors with model.json, and no checkpoint) nor a Hugging Face folder (model.safetensors with its config.json).");
        }
        if (!File.Exists(model))
            throw new FileNotFoundException($"--model {model}: no such file or folder. Use a run folder, a .safetensors/.pth backbone, raw, or random:<arch>.");
        if (fromFile is not null) return (model, fromFile, Path.GetFileName(model));
        if (arch is not null) return (model, CardFor(arch, imageSize), arch);
        foreach (var candidate in new[] { Path.ChangeExtension(model, ".json"), Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "model.json") })
            if (File.Exists(candidate) && IsModelCard(candidate))
                return (model, WithSize(ModelCard.Load(candidate), imageSize), Path.GetFileName(model));
        throw new ArgumentException($"{model}: nothing describes its architecture. Put a model.json beside it (docs/model-json.md), give one with --arch-file, " +
            $"or name a variant with --arch (one of {string.Join(", ", ArchitectureNames)}).");
    }

    static ModelCard LoadCard(string path) =>
        File.Exists(path) ? ModelCard.Load(path) : throw new FileNotFoundException($"--arch-file {path}: no such file.", path);

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
        var card = CardFor(backbone, imageSize);
        // Some released models were trained on other pixel statistics than ImageNet's (DINOv3's SAT-493M ViT-L).
        return VisionTransformerVariants.PixelStatistics(arch) is { } stats
            ? card with { Preprocessing = card.Preprocessing with { Mean = stats.Mean, Std = stats.Std } }
            : card;
    }

    static ModelCard CardFor(VisionTransformerConfig backbone, int? imageSize)
    {
        int size = imageSize ?? DefaultInputSize(backbone);
        return new ModelCard { Backbone = backbone, Preprocessing = PreprocessingFor(size) };
    }

    static ModelCard WithSize(ModelCard card, int? size) =>
        size is { } s ? card with { Preprocessing = PreprocessingFor(s) } : card;
}
