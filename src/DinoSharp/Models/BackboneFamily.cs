namespace DinoSharp.Models;

/// <summary>
/// Which reference a backbone follows; model.json's <c>family</c> (a model.json without it is dinov2). The family
/// decides the state-dict layout and the position encoding; the other architecture options are shared.
/// </summary>
public enum BackboneFamily
{
    /// <summary>dinov2's ViT: learned position embedding <c>pos_embed</c> (bicubically resized), <c>register_tokens</c>, fused SwiGLU <c>w12</c>.</summary>
    Dinov2,
    /// <summary>dinov3's ViT: no position embedding, axial RoPE in attention (<c>rope_embed.periods</c>), <c>storage_tokens</c>, SwiGLU <c>w1</c>/<c>w2</c>/<c>w3</c>.</summary>
    Dinov3Vit,
    /// <summary>dinov3's distilled ConvNeXt (<see cref="ConvNeXt"/>): a model.json whose backbone is a <see cref="ConvNeXtConfig"/>; never a ViT config's family.</summary>
    Dinov3ConvNext,
}
