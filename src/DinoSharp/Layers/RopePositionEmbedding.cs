using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// Axial rotary position embedding (dinov3's RopePositionEmbedding): for an H×W patch grid, the patch centres mapped to
/// [-1, 1] per axis, angles 2π·coord/period for each of the D_head/4 <c>periods</c> on each axis, laid out
/// [row angles, column angles] and tiled twice, and their sin and cos. Everything is computed in the configured RoPE
/// dtype step by step as the reference does (so bf16 RoPE rounds where the reference rounds). The <c>periods</c> buffer
/// is stored in float32 and used as loaded.
/// </summary>
public sealed class RopePositionEmbedding : nn.Module
{
    readonly Tensor periods;
    readonly RopeConfig config;
    readonly ScalarType dtype;

    /// <summary>Creates the <c>periods</c> buffer [D_head/4] from <paramref name="config"/>, computed in its dtype.</summary>
    /// <exception cref="ArgumentException">The head size is not a multiple of 4, or the config is invalid.</exception>
    public RopePositionEmbedding(long headDim, RopeConfig config) : base(nameof(RopePositionEmbedding))
    {
        this.config = config.Validate();
        if (headDim % 4 != 0)
            throw new ArgumentException($"RoPE needs a head size divisible by 4 (two axes, sin and cos pairs); got {headDim}.");
        HeadDim = headDim;
        dtype = ToScalarType(config.Dtype);
        periods = InitialPeriods(headDim, config);
        register_buffer(nameof(periods), periods);
    }

    /// <summary>D_head, the width of the rotated q and k rows.</summary>
    public long HeadDim { get; }

    /// <summary>The <c>periods</c> buffer [D_head/4] (float32).</summary>
    public Tensor Periods => periods;

    /// <summary>The libtorch dtype of a <see cref="RopeDtype"/>.</summary>
    public static ScalarType ToScalarType(RopeDtype d) => d switch
    {
        RopeDtype.Fp32 => ScalarType.Float32,
        RopeDtype.Bf16 => ScalarType.BFloat16,
        RopeDtype.Fp16 => ScalarType.Float16,
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "Unknown RoPE dtype."),
    };

    /// <summary>
    /// The periods a fresh reference model starts from, computed in the RoPE dtype and stored as float32:
    /// base^(2·arange(D/4)/(D/2)), or max_period · (max/min)^(linspace(0, 1, D/4) − 1) computed as the reference does.
    /// </summary>
    public static Tensor InitialPeriods(long headDim, RopeConfig config)
    {
        using var scope = torch.NewDisposeScope();
        var dt = ToScalarType(config.Dtype);
        long n = headDim / 4;
        Tensor p;
        if (config.Base is { } b)
        {
            var exponent = torch.arange(0, n, 1, dtype: dt) * 2 / (headDim / 2);
            p = torch.pow(b, exponent);
        }
        else
        {
            double ratio = config.MaxPeriod!.Value / config.MinPeriod!.Value;
            var exponents = torch.linspace(0, 1, n, dtype: dt);
            p = torch.pow(ratio, exponents) / ratio * config.MaxPeriod.Value;
        }
        return p.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// sin and cos [H·W, D_head] for an <paramref name="h"/>×<paramref name="w"/> patch grid. In training mode the
    /// configured coordinate augmentations are drawn from <paramref name="generator"/> (libtorch's global generator
    /// when null) in the reference's order: shift (2 values), jitter (2), rescale (1).
    /// </summary>
    public RopeTables Forward(long h, long w, Generator? generator = null)
    {
        using var scope = torch.NewDisposeScope();
        var (divH, divW) = config.NormalizeCoords switch
        {
            RopeCoordinateNormalization.Separate => (h, w),
            RopeCoordinateNormalization.Max => (Math.Max(h, w), Math.Max(h, w)),
            RopeCoordinateNormalization.Min => (Math.Min(h, w), Math.Min(h, w)),
            _ => throw new InvalidOperationException($"Unknown RoPE coordinate normalisation {config.NormalizeCoords}."),
        };
        var coordsH = torch.arange(0.5, h, 1.0, dtype: dtype) / divH;                    // [H]
        var coordsW = torch.arange(0.5, w, 1.0, dtype: dtype) / divW;                    // [W]
        var grid = torch.meshgrid([coordsH, coordsW], indexing: "ij");
        var coords = torch.stack(grid, -1).flatten(0, 1);                               // [HW, 2]
        coords = coords * 2.0 - 1.0;
        if (training)
        {
            if (config.ShiftCoords is { } s)
                coords = coords + torch.empty(2, dtype).uniform_(-s, s, generator)[TensorIndex.None, ..];
            if (config.JitterCoords is { } j)
            {
                double max = Math.Log(j);
                coords = coords * torch.empty(2, dtype).uniform_(-max, max, generator).exp()[TensorIndex.None, ..];
            }
            if (config.RescaleCoords is { } r)
            {
                double max = Math.Log(r);
                coords = coords * torch.empty(1, dtype).uniform_(-max, max, generator).exp();
            }
        }
        var p = periods.to(dtype);
        var angles = coords[.., .., TensorIndex.None] * (2 * Math.PI) / p[TensorIndex.None, TensorIndex.None, ..]; // [HW, 2, D/4]
        angles = angles.flatten(1, 2).tile([1, 2]);                                     // [HW, D]
        return new RopeTables(angles.sin().MoveToOuterDisposeScope(), angles.cos().MoveToOuterDisposeScope());
    }
}
