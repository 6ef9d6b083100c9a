using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// The precision the current thread's matrix products run in, set for a region with <see cref="Use"/> — the role
/// torch.autocast plays in PyTorch, which TorchSharp 0.107 does not offer. Inside a bf16 region the layers call
/// <see cref="Linear(TorchSharp.Modules.Linear, Tensor)"/>, <see cref="Linear(Tensor, Tensor, Tensor?)"/> and
/// <see cref="Conv2d"/>, which cast the input and the float32 weights to bfloat16 (autograd carries the gradients back
/// to the float32 weights through the cast) and return bfloat16 products; attention on those products runs in bfloat16
/// (<see cref="Attention"/>). Everything else follows PyTorch's type promotion:
/// the residual stream stays float32 (a bfloat16 branch added to it, or scaled by a float32 LayerScale, is promoted),
/// so LayerNorm statistics are float32. Outside a region, or in fp32, the layers run exactly as before.
/// </summary>
public static class ComputePrecision
{
    [ThreadStatic] static bool bf16;
    static readonly Lazy<bool> NativeBf16 = new(DetectNativeBf16);

    /// <summary>Whether matrix products on this thread currently run in bfloat16.</summary>
    public static bool IsBf16 => bf16;

    /// <summary>Whether this CPU multiplies bfloat16 natively (the avx512_bf16 or amx_bf16 flag in /proc/cpuinfo).</summary>
    public static bool CpuHasNativeBf16 => NativeBf16.Value;

    /// <summary><see cref="Precision.Auto"/> → <see cref="Precision.Bf16"/> where <see cref="CpuHasNativeBf16"/>, else <see cref="Precision.Fp32"/>; the others unchanged.</summary>
    public static Precision Resolve(Precision precision) => precision switch
    {
        Precision.Auto => CpuHasNativeBf16 ? Precision.Bf16 : Precision.Fp32,
        Precision.Fp32 or Precision.Bf16 => precision,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Unknown precision."),
    };

    /// <summary>The resolved precision's name: "fp32" or "bf16".</summary>
    public static string Name(Precision precision) => Resolve(precision) == Precision.Bf16 ? "bf16" : "fp32";

    /// <summary>auto, fp32 (float32) or bf16 (bfloat16), any case.</summary>
    /// <exception cref="ArgumentException">Another word; the message names the three.</exception>
    public static Precision Parse(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "auto" => Precision.Auto,
        "fp32" or "float32" => Precision.Fp32,
        "bf16" or "bfloat16" => Precision.Bf16,
        _ => throw new ArgumentException($"'{text}': use auto, fp32 or bf16."),
    };

    /// <summary>
    /// A sentence saying what <paramref name="precision"/> resolves to here and why, for a command's output; for a
    /// <paramref name="resumed"/> run, that the precision is the run's. Where <see cref="IsEmulated"/>, it is a warning
    /// and says what bf16 costs on this CPU.
    /// </summary>
    public static string Describe(Precision precision, bool resumed = false) => DescribeFor(precision, CpuHasNativeBf16, resumed);

    /// <summary><see cref="Describe"/> for a CPU with or without native bfloat16 (tests say both, whatever this machine is).</summary>
    internal static string DescribeFor(Precision precision, bool nativeBf16, bool resumed) => precision switch
    {
        Precision.Bf16 when !nativeBf16 && resumed =>
            "Precision: bf16 (the run's), which this CPU only emulates: its steps run slower than fp32's would; the run keeps it so that its resume stays exact.",
        Precision.Bf16 when !nativeBf16 =>
            "Precision: bf16, but this CPU has no native bfloat16 dot products (no avx512_bf16 or amx_bf16): libtorch emulates them, "
            + "so bf16 runs slower than fp32 here, with bf16's rounding. Use --precision auto or fp32 (--set precision=auto in training).",
        _ when resumed => $"Precision: {Name(precision)} (the run's).",
        Precision.Auto => $"Precision: {(nativeBf16 ? "bf16" : "fp32")} (auto: this CPU {(nativeBf16 ? "has" : "has no")} native bfloat16 dot products).",
        _ => $"Precision: {Name(precision)}.",
    };

    /// <summary>Whether <paramref name="precision"/> asks for bfloat16 on a CPU that only emulates it (worth a warning).</summary>
    public static bool IsEmulated(Precision precision) => precision == Precision.Bf16 && !CpuHasNativeBf16;

    /// <summary>Runs the current thread's matrix products in <paramref name="precision"/> (resolved) until the result is disposed; regions nest.</summary>
    public static IDisposable Use(Precision precision)
    {
        bool previous = bf16;
        bf16 = Resolve(precision) == Precision.Bf16;
        return new Restore(previous);
    }

    /// <summary><paramref name="module"/>(x) in the current precision.</summary>
    public static Tensor Linear(TorchSharp.Modules.Linear module, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(module);
        return bf16 ? Linear(x, module.weight!, module.bias) : module.forward(x);
    }

    /// <summary><paramref name="module"/>(x) in the current precision, for a <see cref="TorchSharp.Modules.Linear"/> or a <see cref="LinearKMaskedBias"/>.</summary>
    public static Tensor Linear(nn.Module<Tensor, Tensor> module, Tensor x) => module switch
    {
        TorchSharp.Modules.Linear linear => Linear(linear, x),
        LinearKMaskedBias masked when bf16 => LinearMasked(masked, x),
        _ => module.call(x),
    };

    static Tensor LinearMasked(LinearKMaskedBias module, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return Linear(x, module.Weight, module.Bias * module.BiasMask).MoveToOuterDisposeScope();
    }

    /// <summary>x·wᵀ + b in the current precision (bfloat16 result in a bf16 region, else in x's type).</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        if (!bf16) return nn.functional.linear(x, weight, bias);
        using var scope = torch.NewDisposeScope();
        return nn.functional.linear(Bf(x), Bf(weight), bias is null ? null : Bf(bias)).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="module"/>(x) for a patch embedding (kernel = <paramref name="stride"/>, no padding) in the current precision, returned in x's type (it starts the float32 residual stream).</summary>
    public static Tensor Conv2d(Conv2d module, Tensor x, long stride)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!bf16) return module.forward(x);
        using var scope = torch.NewDisposeScope();
        var y = nn.functional.conv2d(Bf(x), Bf(module.weight!), module.bias is null ? null : Bf(module.bias),
            strides: [stride, stride]);
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// softmax(q·kᵀ/√headDim)·v for q, k, v [B, heads, N, headDim] → [B, heads, N, headDim]. Outside a bf16 region
    /// libtorch's fused kernel (scaled_dot_product_attention). In a bf16 region two batched bfloat16 products around a
    /// softmax of the bfloat16 scores (it accumulates in float32 inside the kernel, as the fused one does): libtorch
    /// 2.10's fused CPU kernel gains nothing from bfloat16, and this path is ~13 % faster for a whole ViT-S/14 forward
    /// and ~16 % for its training step (docs/performance.md, "Attention in bf16"). The price is scores rounded to
    /// bfloat16 before the softmax; the bf16 fixture tests and `dino bench`'s cosine bound what that costs.
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v)
    {
        if (!bf16 || q.dtype != ScalarType.BFloat16) return nn.functional.scaled_dot_product_attention(q, k, v);
        using var scope = torch.NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], n = q.shape[2], headDim = q.shape[3], keys = k.shape[2];
        var scores = torch.bmm((q * (1.0 / Math.Sqrt(headDim))).reshape(b * h, n, headDim), k.reshape(b * h, keys, headDim).transpose(1, 2));
        var o = torch.bmm(scores.softmax(-1), v.reshape(b * h, keys, headDim));
        return o.view(b, h, n, headDim).MoveToOuterDisposeScope();
    }

    static Tensor Bf(Tensor t) => t.dtype == ScalarType.BFloat16 ? t.alias() : t.to(ScalarType.BFloat16);

    static bool DetectNativeBf16()
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return false;
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("flags", StringComparison.Ordinal))
                    return line.Split(' ', ':', '\t').Any(f => f is "avx512_bf16" or "amx_bf16");
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
    }

    sealed class Restore(bool previous) : IDisposable
    {
        public void Dispose() => bf16 = previous;
    }
}
