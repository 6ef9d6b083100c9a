using System.Diagnostics;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Benchmarks;

/// <summary>
/// Where the non-matmul time of backbone inference goes: the whole forward against its parts at the same shapes
/// (patch embedding as a convolution and as reshape + matmul, fused against plain attention, GELU, LayerNorm),
/// interleaved rounds in one process, median milliseconds per batch.
/// </summary>
public static class OpsBenchmark
{
    public static void Run(string[] args)
    {
        if (args is ["precision", ..])
        {
            MatmulPrecision(2056, 384, 1536);
            return;
        }
        if (args is ["bf16", ..])
        {
            Bf16Forward(args.Length > 1 ? args[1] : "vit_small", args.Length > 2 ? int.Parse(args[2]) : 8, args.Length > 3 ? int.Parse(args[3]) : 224);
            return;
        }
        string arch = args.Length > 0 ? args[0] : "vit_small";
        int batch = args.Length > 1 ? int.Parse(args[1]) : 8, size = args.Length > 2 ? int.Parse(args[2]) : 224;
        torch.manual_seed(0);
        using var model = VisionTransformerVariants.Create(arch);
        model.eval();
        var c = VisionTransformerVariants.Get(arch);
        long d = c.EmbedDim, p = c.PatchSize, grid = size / p, n = grid * grid + 1 + c.NumRegisterTokens, heads = c.NumHeads;
        using var guard = torch.inference_mode();
        var x = torch.randn(batch, 3, size, size);
        var conv = nn.Conv2d(3, d, p, stride: p);
        var w = conv.weight!.reshape(d, -1).t().contiguous();
        var tokens = torch.randn(batch, n, d);
        var hidden = torch.randn(batch, n, 4 * d);
        var q = torch.randn(batch, heads, n, d / heads); var k = torch.randn(batch, heads, n, d / heads); var v = torch.randn(batch, heads, n, d / heads);
        var ln = nn.LayerNorm(d);
        var gamma = torch.full(d, 1e-5, dtype: ScalarType.Float32);
        var cases = new (string Name, Func<Tensor> Run, int PerForward)[]
        {
            ("whole forward", () => model.ForwardFeatures(x).ClsToken, 1),
            ("patch embed: conv", () => conv.forward(x), 1),
            ("patch embed: reshape + matmul", () => x.reshape(batch, 3, grid, p, grid, p).permute(0, 2, 4, 1, 3, 5).reshape(batch * grid * grid, -1).matmul(w), 1),
            ("attention: fused sdpa", () => nn.functional.scaled_dot_product_attention(q, k, v), c.Depth),
            ("attention: matmul + softmax", () => torch.matmul(torch.matmul(q * (1.0 / Math.Sqrt(d / heads)), k.transpose(-2, -1)).softmax(-1), v), c.Depth),
            ("layernorm", () => ln.forward(tokens), 2 * c.Depth + 1),
            ("layerscale + residual: mul, add", () => tokens + tokens * gamma, 2 * c.Depth),
            ("layerscale + residual: addcmul", () => torch.addcmul(tokens, tokens, gamma, 1), 2 * c.Depth),
            ("gelu out of place", () => nn.functional.gelu(hidden), c.Depth),
            ("gelu in place", () => hidden.gelu_(), c.Depth),
        };
        Console.WriteLine($"{arch}, batch {batch}, {size} px, {n} tokens; median of 7 interleaved rounds");
        Report(cases, rounds: 7, wholeIndex: 0, "of the forward");
        MatmulPrecision(batch * n, d, 4 * d);
    }

    /// <summary>
    /// Where a bf16 forward's time goes (`ops bf16 [arch] [batch] [size]`): the whole forward in fp32 and in a bf16
    /// region, against its bf16 parts at the same shapes — the four products per block, the weight casts, the
    /// activation casts, attention (the fused kernel in bf16 and fp32, and the bf16 path), GELU on bf16, LayerNorm and the promoted residual in float32.
    /// </summary>
    static void Bf16Forward(string arch, int batch, int size)
    {
        torch.manual_seed(0);
        using var model = VisionTransformerVariants.Create(arch);
        model.eval();
        var c = VisionTransformerVariants.Get(arch);
        long d = c.EmbedDim, p = c.PatchSize, grid = size / p, n = grid * grid + 1 + c.NumRegisterTokens, heads = c.NumHeads, m = batch * n;
        using var guard = torch.inference_mode();
        var x = torch.randn(batch, 3, size, size);
        var bf = ScalarType.BFloat16;
        var tokens = torch.randn(batch, n, d);
        var tokensBf = tokens.to(bf);
        var hiddenBf = torch.randn(batch, n, 4 * d).to(bf);
        var q = torch.randn(batch, heads, n, d / heads).to(bf); var k = torch.randn(batch, heads, n, d / heads).to(bf); var v = torch.randn(batch, heads, n, d / heads).to(bf);
        var wQkv = torch.randn(3 * d, d); var wProj = torch.randn(d, d); var wFc1 = torch.randn(4 * d, d); var wFc2 = torch.randn(d, 4 * d);
        var (bQkv, bProj, bFc1, bFc2) = (wQkv.to(bf), wProj.to(bf), wFc1.to(bf), wFc2.to(bf));
        var ln = nn.LayerNorm(d);
        var gamma = torch.full(d, 1.0, dtype: ScalarType.Float32);
        var cases = new (string Name, Func<Tensor> Run, int PerForward)[]
        {
            ("whole forward, fp32", () => model.ForwardFeatures(x).ClsToken, 1),
            ("whole forward, bf16 region", () => { using var r = DinoSharp.Layers.ComputePrecision.Use(DinoSharp.Layers.Precision.Bf16); return model.ForwardFeatures(x).ClsToken; }, 1),
            ("qkv product bf16", () => nn.functional.linear(tokensBf, bQkv), c.Depth),
            ("proj product bf16", () => nn.functional.linear(tokensBf, bProj), c.Depth),
            ("fc1 product bf16", () => nn.functional.linear(tokensBf, bFc1), c.Depth),
            ("fc2 product bf16", () => nn.functional.linear(hiddenBf, bFc2), c.Depth),
            ("weight casts (4 per block)", () => { wQkv.to(bf).Dispose(); wProj.to(bf).Dispose(); wFc1.to(bf).Dispose(); return wFc2.to(bf); }, c.Depth),
            ("activation casts fp32→bf16 (2 per block)", () => tokens.to(bf), 2 * c.Depth),
            ("attention: fused sdpa bf16", () => nn.functional.scaled_dot_product_attention(q, k, v), c.Depth),
            ("gelu bf16", () => nn.functional.gelu(hiddenBf), c.Depth),
            ("layernorm fp32", () => ln.forward(tokens), 2 * c.Depth + 1),
            ("layerscale + residual: addcmul, bf16 branch", () => torch.addcmul(tokens, tokensBf, gamma, 1), 2 * c.Depth),
            ("layerscale + residual: cast, then addcmul", () => { using var f = tokensBf.to(ScalarType.Float32); return torch.addcmul(tokens, f, gamma, 1); }, 2 * c.Depth),
            ("attention: fused sdpa fp32", () => { using var q32 = q.to(ScalarType.Float32); using var k32 = k.to(ScalarType.Float32); using var v32 = v.to(ScalarType.Float32); return nn.functional.scaled_dot_product_attention(q32, k32, v32).to(bf); }, c.Depth),
            ("attention: bf16 products + bf16 softmax (the bf16 path)", () => { using var r = DinoSharp.Layers.ComputePrecision.Use(DinoSharp.Layers.Precision.Bf16); return DinoSharp.Layers.ComputePrecision.Attention(q, k, v); }, c.Depth),
        };
        Console.WriteLine($"{arch}, batch {batch}, {size} px, {n} tokens ({m} rows); median of 5 interleaved rounds; shares of the bf16 forward");
        Report(cases, rounds: 5, wholeIndex: 1, "");
    }

    /// <summary>
    /// Times every case in interleaved rounds (each: one warm-up call, then calls for at least 0.3 s) and prints its
    /// median milliseconds, times its calls per forward, as a share of case <paramref name="wholeIndex"/>'s.
    /// </summary>
    static void Report((string Name, Func<Tensor> Run, int PerForward)[] cases, int rounds, int wholeIndex, string shareOf)
    {
        var times = cases.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < cases.Length; i++)
            {
                using (var warm = cases[i].Run()) { }
                var clock = Stopwatch.StartNew();
                int reps = 0;
                do { using var r = cases[i].Run(); reps++; } while (clock.Elapsed.TotalSeconds < 0.3);
                times[i].Add(clock.Elapsed.TotalMilliseconds / reps);
            }
        double whole = Median(times[wholeIndex]);
        int width = cases.Max(c => c.Name.Length);
        foreach (var (c, t) in cases.Zip(times))
        {
            double ms = Median(t), perForward = ms * c.PerForward;
            Console.WriteLine($"{c.Name.PadRight(width)} {ms,8:F2} ms × {c.PerForward,2} = {perForward,8:F2} ms  ({perForward / whole,6:P1}{(shareOf.Length > 0 ? " " + shareOf : "")})");
        }
    }

    /// <summary>The MLP-shaped product in float32 and bfloat16 (the CPU may have bf16 dot-product instructions).</summary>
    public static void MatmulPrecision(long m, long k, long n)
    {
        using var guard = torch.inference_mode();
        var rates = new Dictionary<ScalarType, List<double>> { [ScalarType.Float32] = [], [ScalarType.BFloat16] = [] };
        for (int round = 0; round < 5; round++)
        {
            foreach (var dtype in rates.Keys)
            {
                using var a = torch.randn(m, k).to(dtype);
                using var b = torch.randn(k, n).to(dtype);
                using (var warm = a.matmul(b)) { }
                int reps = 0;
                var clock = Stopwatch.StartNew();
                do { using var c = a.matmul(b); reps++; } while (clock.Elapsed.TotalSeconds < 0.3);
                rates[dtype].Add(2.0 * m * k * n * reps / clock.Elapsed.TotalSeconds / 1e9);
            }
        }
        foreach (var (dtype, r) in rates)
            Console.WriteLine($"matmul {m}×{k}×{n} {dtype,-9} {Median(r),7:F1} GFLOP/s");
    }

    static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
}
