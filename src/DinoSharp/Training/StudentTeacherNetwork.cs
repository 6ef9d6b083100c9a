using DinoSharp.Heads;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>
/// One side of the self-distillation pair: backbone, DINO head and (optionally) a separate iBOT head. Student and teacher
/// are built by the same constructor; state-dict keys are dinov2's (backbone.*, dino_head.*, ibot_head.*).
/// </summary>
public sealed class StudentTeacherNetwork : nn.Module
{
    readonly DinoVisionTransformer backbone;
    readonly DinoHead dino_head;
    readonly DinoHead? ibot_head;

    /// <summary>A randomly initialised backbone with its head(s).</summary>
    /// <param name="backboneConfig">The backbone, including its drop-path rate.</param>
    /// <param name="dino">Sizes of the DINO head.</param>
    /// <param name="ibot">Whether iBOT has its own head, and its sizes.</param>
    public StudentTeacherNetwork(VisionTransformerConfig backboneConfig, DinoConfig dino, IbotConfig ibot) : base(nameof(StudentTeacherNetwork))
    {
        backbone = new DinoVisionTransformer(backboneConfig);
        dino_head = new DinoHead(backboneConfig.EmbedDim, dino.HeadNPrototypes, dino.HeadHiddenDim, dino.HeadBottleneckDim, dino.HeadNlayers);
        ibot_head = ibot.SeparateHead
            ? new DinoHead(backboneConfig.EmbedDim, ibot.HeadNPrototypes, ibot.HeadHiddenDim, ibot.HeadBottleneckDim, ibot.HeadNlayers)
            : null;
        register_module(nameof(backbone), backbone);
        register_module(nameof(dino_head), dino_head);
        if (ibot_head is not null) register_module(nameof(ibot_head), ibot_head);
    }

    /// <summary>The ViT (state-dict prefix <c>backbone</c>).</summary>
    public DinoVisionTransformer Backbone => backbone;
    /// <summary>The class-token projection head (prefix <c>dino_head</c>): [B, D] → [B, K].</summary>
    public DinoHead DinoHead => dino_head;
    /// <summary>The head used for masked patch tokens: the DINO head itself unless ibot.separate_head.</summary>
    public DinoHead IbotHead => ibot_head ?? dino_head;
    /// <summary>Whether <see cref="IbotHead"/> is its own module (prefix <c>ibot_head</c>) rather than <see cref="DinoHead"/>.</summary>
    public bool HasSeparateIbotHead => ibot_head is not null;

    /// <summary>The modules whose gradients dinov2 clips separately (backbone, dino_head, ibot_head).</summary>
    public IEnumerable<nn.Module> ClippingGroups()
    {
        yield return backbone;
        yield return dino_head;
        if (ibot_head is not null) yield return ibot_head;
    }

    /// <summary>Parameters of the prototype layer(s), frozen during the first epoch(s).</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> LastLayerParameters =>
        ibot_head is null ? dino_head.LastLayerParameters : dino_head.LastLayerParameters.Concat(ibot_head.LastLayerParameters);
}
