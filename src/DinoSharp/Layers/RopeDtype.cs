namespace DinoSharp.Layers;

/// <summary>The dtype RoPE computes in (dinov3's pos_embed_rope_dtype): coordinates, angles, sin/cos and the rotation of q and k.</summary>
public enum RopeDtype
{
    /// <summary>float32 (the hub's released models).</summary>
    Fp32,
    /// <summary>bfloat16 (the reference class's default, used in training): every step rounded to 8 mantissa bits.</summary>
    Bf16,
    /// <summary>float16.</summary>
    Fp16,
}
