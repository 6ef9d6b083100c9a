using System.Text.RegularExpressions;
using DinoSharp.Layers;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>Loads and saves backbone weights in Meta's and Hugging Face's layouts, checking every key and shape.</summary>
public static partial class BackboneCheckpoint
{
    /// <summary>Reads a checkpoint of the given layout and returns it in Meta's key layout (a Hugging Face file as DINOv2's Dinov2Model).</summary>
    public static Dictionary<string, Tensor> ReadMetaStateDict(string path, CheckpointLayout layout) => ReadMetaStateDict(path, layout, null);

    /// <summary>
    /// Reads a checkpoint of the given layout and returns it in Meta's key layout; a Hugging Face file is read as the
    /// layout of <paramref name="config"/>'s family (DINOv2's Dinov2Model, or DINOv3ViTModel with HF's recomputed periods).
    /// </summary>
    public static Dictionary<string, Tensor> ReadMetaStateDict(string path, CheckpointLayout layout, VisionTransformerConfig? config)
    {
        if (layout == CheckpointLayout.HuggingFace && config?.Family == BackboneFamily.Dinov3Vit)
            return HuggingFaceDinov3Layout.ToMeta(TensorFile.Read(path), config);
        var raw = TensorFile.Read(path);
        var dict = layout switch
        {
            CheckpointLayout.Meta => raw,
            CheckpointLayout.MetaTrainingTeacher => StripPrefix(raw, path, "teacher.backbone.", "model.teacher.backbone.", "teacher.backbone."),
            CheckpointLayout.MetaTrainingStudent => StripPrefix(raw, path, "student.backbone.", "model.student.backbone.", "student.backbone."),
            CheckpointLayout.HuggingFace => HuggingFaceLayout.ToMeta(StripOptionalPrefix(raw, "dinov2.")),
            _ => throw new ArgumentOutOfRangeException(nameof(layout)),
        };
        return Unchunk(dict);
    }

    /// <summary>Loads weights into <paramref name="model"/>; every key and shape must match (the error lists all differences).</summary>
    public static void Load(DinoVisionTransformer model, string path, CheckpointLayout layout)
    {
        ArgumentNullException.ThrowIfNull(model);
        var dict = ReadMetaStateDict(path, layout, model.Config);
        LoadStateDict(model, dict, path);
    }

    /// <summary>Copies a Meta-layout state dict into the model after checking keys and shapes.</summary>
    /// <exception cref="CheckpointException">
    /// The keys or shapes differ (one line naming <paramref name="source"/> and the differences); for a ViT first whether the
    /// checkpoint is of the other family (naming the family and the matching --arch) or carries RoPE periods that do not fit
    /// the head size.
    /// </exception>
    public static void LoadStateDict(nn.Module model, IReadOnlyDictionary<string, Tensor> dict, string source)
    {
        if (model is DinoVisionTransformer backbone) CheckFamily(backbone.Config, dict, source);
        var expected = model.state_dict();
        var missing = expected.Keys.Where(k => !dict.ContainsKey(k)).ToList();
        var unexpected = dict.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        var misshaped = expected.Where(kv => dict.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key} {Shape(dict[kv.Key])} (model {Shape(kv.Value)})").ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"{missing.Count} missing ({Summarize(missing)})");
            if (unexpected.Count > 0) parts.Add($"{unexpected.Count} unexpected ({Summarize(unexpected)})");
            if (misshaped.Count > 0) parts.Add($"{misshaped.Count} mis-shaped ({Summarize(misshaped)})");
            string arch = model is DinoVisionTransformer vit ? $" {Describe(vit.Config)}" : "";
            throw new CheckpointException($"{source}: does not fit the{arch} model: {string.Join("; ", parts)}.");
        }
        using var _ = torch.no_grad();
        foreach (var (key, target) in expected)
            target.copy_(dict[key]);
    }

    /// <summary>Writes the model's weights in Meta's layout: a .pth (PyTorch zip pickle) or .safetensors by extension.</summary>
    public static void SaveMeta(nn.Module model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var dict = model.state_dict();
        if (path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase))
        {
            var ordered = new System.Collections.Specialized.OrderedDictionary();
            foreach (var (k, v) in dict) ordered[k] = v.detach().cpu().contiguous();
            TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(path, ordered);
        }
        else
        {
            SafetensorsFile.Save(path, dict, metadata);
        }
    }

    /// <summary>
    /// Writes the model in Hugging Face's layout, model.safetensors and config.json in a folder: Dinov2Model for DINOv2,
    /// DINOv3ViTModel for a DINOv3 ViT. For DINOv3 the return value is one line saying how far HF's recomputed RoPE periods
    /// move the outputs (measured on a seeded random batch at the model's image size), or null when the periods are HF's already.
    /// </summary>
    public static string? SaveHuggingFace(DinoVisionTransformer model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Config.Family == BackboneFamily.Dinov3Vit) return SaveHuggingFaceDinov3(model, folder);
        Directory.CreateDirectory(folder);
        var hf = HuggingFaceLayout.FromMeta(model.state_dict(), model.Config.Depth);
        SafetensorsFile.Save(Path.Combine(folder, "model.safetensors"), hf, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), HuggingFaceLayout.ConfigJson(model.Config));
        return null;
    }

    static string? SaveHuggingFaceDinov3(DinoVisionTransformer model, string folder)
    {
        var c = model.Config;
        var hf = HuggingFaceDinov3Layout.FromMeta(model.state_dict(), c);
        var config = HuggingFaceDinov3Layout.ConfigJson(c);
        Directory.CreateDirectory(folder);
        SafetensorsFile.Save(Path.Combine(folder, "model.safetensors"), hf, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), config);
        using var hfPeriods = RopePositionEmbedding.InitialPeriods(c.HeadDim, c.Rope! with { Dtype = RopeDtype.Fp32 });
        using var own = model.state_dict()["rope_embed.periods"].detach().cpu();
        if (own.eq(hfPeriods).all().item<bool>()) return null;
        using var images = torch.randn([2, c.InChans, c.ImgSize, c.ImgSize], generator: new Generator(0));
        var (cls, patch) = HuggingFaceDinov3Layout.RecomputedPeriodsEffect(model, images.to(own.device));
        double maxPeriodChange = (own - hfPeriods).abs().max().item<float>();
        return $"{folder}: Hugging Face recomputes the RoPE periods from rope_theta {c.Rope.Base} (this model's differ by up to {maxPeriodChange:G3}); on a random 2×{c.ImgSize}×{c.ImgSize} batch that moves the cls token by up to {cls:E2} and the patch tokens by up to {patch:E2} (max abs).";
    }

    /// <summary>One line naming the architecture's family and sizes (dim, depth, heads, patch, position grid or RoPE, registers, FFN kind), for messages about mismatched checkpoints.</summary>
    public static string Describe(VisionTransformerConfig c) => c.Family == BackboneFamily.Dinov3Vit
        ? $"DINOv3 ViT(dim {c.EmbedDim}, depth {c.Depth}, heads {c.NumHeads}, patch {c.PatchSize}, RoPE, {c.NumRegisterTokens} storage tokens, {c.FfnLayer})"
        : $"ViT(dim {c.EmbedDim}, depth {c.Depth}, heads {c.NumHeads}, patch {c.PatchSize}, {c.PositionGrid}×{c.PositionGrid} position grid, {c.NumRegisterTokens} registers, {c.FfnLayer})";

    /// <summary>
    /// The family a ViT state dict (Meta's keys, or what is left of a Hugging Face file after renaming) belongs to: DINOv2
    /// by its learned position embedding (<c>pos_embed</c>, HF's <c>embeddings.position_embeddings</c>) or HF's
    /// <c>encoder.layer.*</c>; DINOv3 by <c>storage_tokens</c>, HF's <c>attention.q_proj</c>, or RoPE periods; null if
    /// neither or both.
    /// </summary>
    public static BackboneFamily? FamilyOf(IReadOnlyDictionary<string, Tensor> dict)
    {
        bool v2 = dict.ContainsKey("pos_embed") || dict.ContainsKey("embeddings.position_embeddings")
            || dict.Keys.Any(k => k.StartsWith("encoder.layer.", StringComparison.Ordinal));
        bool v3 = dict.ContainsKey("storage_tokens") || dict.Keys.Any(k => k.Contains(".attention.q_proj.", StringComparison.Ordinal))
            || (dict.ContainsKey("rope_embed.periods") && !v2);
        return v2 == v3 ? null : v2 ? BackboneFamily.Dinov2 : BackboneFamily.Dinov3Vit;
    }

    /// <summary>
    /// Catches the two mistakes a key list would report as a confusing wall of missing and unexpected keys: a checkpoint of
    /// the other family (DINOv3 weights with --arch vit_small, or the reverse), and RoPE periods whose count is not the
    /// model's head size / 4.
    /// </summary>
    static void CheckFamily(VisionTransformerConfig config, IReadOnlyDictionary<string, Tensor> dict, string source)
    {
        var family = FamilyOf(dict);
        if (family is { } f && f != config.Family)
        {
            string found = f == BackboneFamily.Dinov3Vit ? "a DINOv3 ViT checkpoint (RoPE, no learned position embedding)" : "a DINOv2 checkpoint (learned position embedding)";
            string wanted = f == BackboneFamily.Dinov3Vit ? "dinov3_vit" : "dinov2";
            var shapes = dict.ToDictionary(kv => kv.Key, kv => kv.Value.shape);
            var matching = VisionTransformerVariants.Matching(shapes).ToList();
            string arch = matching.Count > 0
                ? $"--arch {string.Join(" or --arch ", matching)}"
                : $"a {wanted} architecture (--arch {string.Join(", ", VisionTransformerVariants.NamesOf(f))}, or a model.json with family {wanted})";
            throw new CheckpointException($"{source}: {found}, but the model is {Describe(config)} of family {(config.Family == BackboneFamily.Dinov3Vit ? "dinov3_vit" : "dinov2")}; load it as family {wanted}: {arch}.");
        }
        if (config.Family == BackboneFamily.Dinov3Vit && dict.TryGetValue("rope_embed.periods", out var periods)
            && periods.numel() != config.HeadDim / 4)
            throw new CheckpointException($"{source}: rope_embed.periods has {periods.numel()} values, but heads of size {config.HeadDim} (dim {config.EmbedDim} / {config.NumHeads} heads) need head_dim/4 = {config.HeadDim / 4}; the checkpoint was made for another head size: check --arch or the model.json's embed_dim and num_heads.");
    }

    static Dictionary<string, Tensor> StripPrefix(Dictionary<string, Tensor> raw, string path, string display, params string[] prefixes)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (k, v) in raw)
            foreach (var p in prefixes)
                if (k.StartsWith(p, StringComparison.Ordinal)) { result[k[p.Length..]] = v; break; }
        if (result.Count == 0)
            throw new CheckpointException($"{path}: no tensors under '{display}' (is this a training checkpoint? For a plain backbone use the Meta layout).");
        return result;
    }

    static Dictionary<string, Tensor> StripOptionalPrefix(Dictionary<string, Tensor> raw, string prefix) =>
        raw.ToDictionary(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) ? kv.Key[prefix.Length..] : kv.Key, kv => kv.Value);

    /// <summary>block_chunks > 0 checkpoints store blocks.{chunk}.{i}.* with the global index i; map to blocks.{i}.*.</summary>
    static Dictionary<string, Tensor> Unchunk(Dictionary<string, Tensor> dict) =>
        dict.ToDictionary(kv => ChunkedBlock().Replace(kv.Key, "blocks.$2."), kv => kv.Value);

    [GeneratedRegex(@"^blocks\.(\d+)\.(\d+)\.")]
    private static partial Regex ChunkedBlock();

    static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";

    static string Summarize(List<string> items) =>
        string.Join(", ", items.Take(4)) + (items.Count > 4 ? $", … {items.Count - 4} more" : "");
}
