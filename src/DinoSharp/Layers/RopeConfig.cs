namespace DinoSharp.Layers;

/// <summary>
/// The rotary position embedding of a DINOv3 ViT (dinov3/layers/rope_position_encoding.py), with the reference's
/// pos_embed_rope_* names. Periods come from <see cref="Base"/> (base^(2i/(D_head/2))), or from
/// <see cref="MinPeriod"/> and <see cref="MaxPeriod"/> (log-spaced between them): exactly one of the two. A checkpoint
/// carries the periods it was trained with (the <c>rope_embed.periods</c> buffer), and those are what is used.
/// </summary>
public sealed record RopeConfig
{
    /// <summary>pos_embed_rope_base: 100 in the released models; null when the min/max periods are given.</summary>
    public double? Base { get; init; } = 100.0;
    /// <summary>pos_embed_rope_min_period (with <see cref="MaxPeriod"/>, instead of <see cref="Base"/>).</summary>
    public double? MinPeriod { get; init; }
    /// <summary>pos_embed_rope_max_period (with <see cref="MinPeriod"/>, instead of <see cref="Base"/>).</summary>
    public double? MaxPeriod { get; init; }
    /// <summary>pos_embed_rope_normalize_coords: separate in the released models.</summary>
    public RopeCoordinateNormalization NormalizeCoords { get; init; } = RopeCoordinateNormalization.Separate;
    /// <summary>pos_embed_rope_shift_coords: in training, add U(−s, s) to each axis's coordinates (null: off).</summary>
    public double? ShiftCoords { get; init; }
    /// <summary>pos_embed_rope_jitter_coords: in training, scale each axis by a log-uniform factor in [1/j, j] (null: off).</summary>
    public double? JitterCoords { get; init; }
    /// <summary>pos_embed_rope_rescale_coords: in training, scale both axes by one log-uniform factor in [1/r, r] (released configs: 2; null: off).</summary>
    public double? RescaleCoords { get; init; }
    /// <summary>pos_embed_rope_dtype: fp32 in the hub's models (bf16 is the reference class's default).</summary>
    public RopeDtype Dtype { get; init; } = RopeDtype.Fp32;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public RopeConfig Validate()
    {
        bool both = MinPeriod is not null && MaxPeriod is not null;
        if (Base is null == !both || (MinPeriod is null) != (MaxPeriod is null))
            throw new ArgumentException($"Invalid RoPE config: give either rope.base ({Base?.ToString() ?? "null"}) or rope.min_period + rope.max_period ({MinPeriod?.ToString() ?? "null"}, {MaxPeriod?.ToString() ?? "null"}), not both and not neither.");
        if (Base is <= 0) throw new ArgumentException($"Invalid RoPE config: rope.base = {Base}; must be positive.");
        if (both && !(MinPeriod > 0 && MaxPeriod >= MinPeriod))
            throw new ArgumentException($"Invalid RoPE config: rope.min_period = {MinPeriod}, rope.max_period = {MaxPeriod}; need 0 < min ≤ max.");
        if (ShiftCoords is < 0) throw new ArgumentException($"Invalid RoPE config: rope.shift_coords = {ShiftCoords}; must be ≥ 0.");
        if (JitterCoords is < 1) throw new ArgumentException($"Invalid RoPE config: rope.jitter_coords = {JitterCoords}; must be ≥ 1.");
        if (RescaleCoords is < 1) throw new ArgumentException($"Invalid RoPE config: rope.rescale_coords = {RescaleCoords}; must be ≥ 1.");
        return this;
    }
}
