namespace DinoSharp.Layers;

/// <summary>How RoPE maps patch centres to [-1, 1] (dinov3's pos_embed_rope_normalize_coords).</summary>
public enum RopeCoordinateNormalization
{
    /// <summary>Rows by H and columns by W: both axes span [-1, 1] whatever the aspect ratio (the released models).</summary>
    Separate,
    /// <summary>Both axes by min(H, W): the shorter axis spans [-1, 1], the longer one more.</summary>
    Min,
    /// <summary>Both axes by max(H, W): the longer axis spans [-1, 1], the shorter one less.</summary>
    Max,
}
