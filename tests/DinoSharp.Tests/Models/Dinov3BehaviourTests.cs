using DinoSharp.Interop;
using DinoSharp.Layers;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Models;

/// <summary>DINOv3 behaviour beyond the fixtures: loaded periods win, training-time RoPE coordinate augmentations, bf16 RoPE arithmetic, subset drop path.</summary>
public sealed class Dinov3BehaviourTests
{
    /// <summary>
    /// Released checkpoints carry periods rounded to bfloat16; recomputing them from the base gives other RoPE tables. For every
    /// fixture model whose stored periods differ from the recomputed ones, the reference's rope_embed sin/cos must be matched
    /// with the loaded periods and missed with the recomputed ones (the tiny fixture networks' outputs hardly move, about 1e-6,
    /// so the tables are where the difference shows).
    /// </summary>
    [Fact]
    [Trait("Category", "Parity")]
    public void LoadedPeriodsAreUsedNotRecomputedOnes()
    {
        var fx = ReferenceFixtures.V3;
        int checkedModels = 0;
        foreach (var (name, configJson, files) in fx.Models().Where(m => FixtureModels.IsDinov3VisionTransformer(m.Config)))
        {
            var config = FixtureModels.Dinov3BackboneConfig(configJson);
            using var vit = new DinoVisionTransformer(config);
            BackboneCheckpoint.Load(vit, fx.PathOf(files[0]), CheckpointLayout.Meta);
            vit.eval();
            var stored = vit.state_dict()["rope_embed.periods"];
            using var recomputed = RopePositionEmbedding.InitialPeriods(config.HeadDim, config.Rope!);
            if (Same(stored, recomputed)) continue;
            foreach (var output in fx.Tensors.Keys.Where(k => k.StartsWith(name + "__", StringComparison.Ordinal) && k.EndsWith("__debug_rope_sin", StringComparison.Ordinal)))
            {
                var x = fx.Load("input_" + output.Split("__")[1]);
                long h = x.shape[2] / config.PatchSize, w = x.shape[3] / config.PatchSize;
                using var loadedPeriods = stored.clone();
                double asLoaded, asRecomputed;
                using (var t = vit.RopeEmbedding(h, w)) asLoaded = ReferenceFixtures.MaxAbsDiff(t.Sin, fx.Load(output));
                using (torch.no_grad()) stored.copy_(recomputed);
                using (var t = vit.RopeEmbedding(h, w)) asRecomputed = ReferenceFixtures.MaxAbsDiff(t.Sin, fx.Load(output));
                using (torch.no_grad()) stored.copy_(loadedPeriods);
                Assert.True(asLoaded <= 1e-5, $"{output}: {asLoaded:E2} with the loaded periods");
                Assert.True(asRecomputed > 1e-4, $"{output}: recomputed periods still match the reference ({asRecomputed:E2}); the loaded ones are not what is used");
                checkedModels++;
            }
        }
        // A folder whose models all store the recomputed periods (e.g. bf16 RoPE, where the reference computes them in bf16)
        // has nothing to tell apart; the default folder's v3_vit_tiny stores released-style rounded ones.
        if (fx.Folder == Path.Combine(ReferenceFixtures.RepositoryRoot(), "tests", "fixtures", "dinov3-reference"))
            Assert.True(checkedModels > 0, "No fixture model stores periods that differ from the recomputed ones.");
    }

    static RopePositionEmbedding Rope(RopeConfig config) => new(16, config);

    /// <summary>Large periods keep every angle below π, so atan2(sin, cos) is the angle itself.</summary>
    static readonly RopeConfig Slow = new() { Base = null, MinPeriod = 100, MaxPeriod = 1000 };

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static Tensor Angles(RopeTables t) => torch.atan2(t.Sin, t.Cos);

    [Fact]
    public void AugmentationsApplyOnlyInTrainingAndFollowTheGenerator()
    {
        using var plain = Rope(Slow);
        using var augmented = Rope(Slow with { ShiftCoords = 0.5, JitterCoords = 1.5, RescaleCoords = 2 });
        plain.eval(); augmented.eval();
        using var reference = plain.Forward(3, 5);
        using var evalTables = augmented.Forward(3, 5, new Generator(1));
        Assert.True(Same(evalTables.Sin, reference.Sin) && Same(evalTables.Cos, reference.Cos), "augmentations applied in eval mode");

        augmented.train();
        using var a = augmented.Forward(3, 5, new Generator(1));
        using var b = augmented.Forward(3, 5, new Generator(1));
        using var c = augmented.Forward(3, 5, new Generator(2));
        Assert.True(Same(a.Sin, b.Sin), "the same seed gave different augmentations");
        Assert.False(Same(a.Sin, c.Sin), "different seeds gave the same augmentation");
        Assert.False(Same(a.Sin, reference.Sin), "training mode did not augment");
    }

    /// <summary>Rescale multiplies every angle by one factor in [1/r, r]; jitter by one factor per axis in [1/j, j]; shift adds 2π·s/period per axis.</summary>
    [Fact]
    public void EachAugmentationHasTheReferenceForm()
    {
        using var plain = Rope(Slow);
        plain.eval();
        using var tables = plain.Forward(4, 6);
        var baseAngles = Angles(tables);                                           // [HW, 16]: h-angles 0..3, w-angles 4..7, tiled
        int q = 4;                                                                 // D_head/4

        using var rescale = Rope(Slow with { RescaleCoords = 2 });
        rescale.train();
        var ratio = Angles(rescale.Forward(4, 6, new Generator(3))) / baseAngles;
        double s = ratio[0, 0].item<float>();
        Assert.InRange(s, 0.5, 2.0);
        Assert.True((ratio - s).abs().max().item<float>() < 1e-4, "rescale is not one factor for all angles");

        using var jitter = Rope(Slow with { JitterCoords = 1.5 });
        jitter.train();
        var jr = Angles(jitter.Forward(4, 6, new Generator(4))) / baseAngles;
        double jh = jr[0, 0].item<float>(), jw = jr[0, q].item<float>();
        Assert.InRange(jh, 1 / 1.5, 1.5);
        Assert.InRange(jw, 1 / 1.5, 1.5);
        Assert.NotEqual(jh, jw, 3);
        Assert.True((jr[.., ..q] - jh).abs().max().item<float>() < 1e-4 && (jr[.., q..(2 * q)] - jw).abs().max().item<float>() < 1e-4);

        using var shift = Rope(Slow with { ShiftCoords = 0.5 });
        shift.train();
        var delta = Angles(shift.Forward(4, 6, new Generator(5))) - baseAngles;    // 2π·shift/period, the same for every position
        var periods = shift.Periods;
        var shiftH = delta[.., ..q] * periods / (2 * Math.PI);
        var shiftW = delta[.., q..(2 * q)] * periods / (2 * Math.PI);
        double sh = shiftH[0, 0].item<float>(), sw = shiftW[0, 0].item<float>();
        Assert.InRange(sh, -0.5, 0.5);
        Assert.InRange(sw, -0.5, 0.5);
        Assert.True((shiftH - sh).abs().max().item<float>() < 1e-3 && (shiftW - sw).abs().max().item<float>() < 1e-3);
    }

    /// <summary>Training mode draws a fresh augmentation for every block (the reference calls rope_embed before each).</summary>
    [Fact]
    public void ModelUsesItsRopeGeneratorInTraining()
    {
        var config = VisionTransformerVariants.Get("dinov3_vits16") with { EmbedDim = 32, NumHeads = 2, Depth = 2 };
        using var vit = new DinoVisionTransformer(config, new Generator(0));
        using var x = torch.randn(1, 3, 32, 48, generator: new Generator(9));
        vit.train();
        using var _ = torch.no_grad();
        vit.RopeGenerator = new Generator(11);
        using var a = vit.ForwardFeatures(x);
        vit.RopeGenerator = new Generator(11);
        using var b = vit.ForwardFeatures(x);
        vit.RopeGenerator = new Generator(12);
        using var c = vit.ForwardFeatures(x);
        vit.eval();
        using var e = vit.ForwardFeatures(x);
        Assert.True(Same(a.PatchTokens, b.PatchTokens));
        Assert.False(Same(a.PatchTokens, c.PatchTokens));
        Assert.False(Same(a.PatchTokens, e.PatchTokens));
    }

    /// <summary>With bf16 RoPE the whole of q and k is cast to bf16 and back, the unrotated cls and storage rows included.</summary>
    [Fact]
    public void Bf16RopeRoundsTheUnrotatedRowsToo()
    {
        using var rope = Rope(new RopeConfig { Dtype = RopeDtype.Bf16 });
        using var tables = rope.Forward(2, 2);
        Assert.Equal(ScalarType.BFloat16, tables.Sin.dtype);
        using var q = torch.randn(1, 2, 5, 16, generator: new Generator(1));         // 1 prefix row + 4 patches
        using var rotated = tables.Apply(q);
        Assert.Equal(ScalarType.Float32, rotated.dtype);
        using var prefixRounded = q[.., .., ..1].to(ScalarType.BFloat16).to(ScalarType.Float32);
        Assert.True(Same(rotated[.., .., ..1], prefixRounded), "the cls row was not rounded to bf16");
        Assert.False(Same(rotated[.., .., ..1], q[.., .., ..1]));

        using var fp32 = Rope(new RopeConfig()).Forward(2, 2);
        using var exact = fp32.Apply(q);
        Assert.True(Same(exact[.., .., ..1], q[.., .., ..1]), "fp32 RoPE must leave the cls row untouched");
        double diff = (rotated - exact).abs().max().item<float>();
        Assert.InRange(diff, 1e-6, 0.05);
    }

    /// <summary>
    /// dinov3's drop path: the attention branch is computed for k = max(int(B·(1−p)), 1) random samples only and added to
    /// them scaled by B/k; the others keep their tokens. Checked with the MLP branch silenced (γ₂ = 0), against the block's
    /// eval output (attention is per sample, so a sample's branch does not depend on the rest of the batch).
    /// </summary>
    [Fact]
    public void Dinov3DropPathAddsTheBranchToARandomSubsetScaled()
    {
        using var block = new Block(32, 2, 64, FeedForwardKind.Mlp, true, true, true, 0.5, dropPath: 0.75, layerNormEps: 1e-5,
            subsetDropPath: true);
        using (torch.no_grad()) block.state_dict()["ls2.gamma"].zero_();
        using var x = torch.randn(8, 5, 32, generator: new Generator(2));
        using var _ = torch.no_grad();
        block.eval();
        using var full = block.forward(x);
        block.train();
        using var dropped = block.forward(x);
        using var changed = (dropped - x).abs().amax([1, 2]).gt(0);
        int k = Math.Max((int)(8 * (1 - 0.75)), 1);
        Assert.Equal(k, changed.sum().item<long>());
        for (int i = 0; i < 8; i++)
        {
            var expected = changed[i].item<bool>() ? (full[i] - x[i]) * (8.0 / k) : torch.zeros_like(x[i]);
            Assert.True(((dropped[i] - x[i]) - expected).abs().max().item<float>() < 1e-5, $"sample {i}");
        }
    }

    /// <summary>Which stochastic depth each family's blocks use: dinov2's per sample up to a rate of 0.1 and on a batch subset above it, dinov3's always on a subset.</summary>
    [Theory]
    [InlineData(BackboneFamily.Dinov2, 0.05, false)]
    [InlineData(BackboneFamily.Dinov2, 0.1, false)]
    [InlineData(BackboneFamily.Dinov2, 0.3, true)]
    [InlineData(BackboneFamily.Dinov3Vit, 0.05, true)]
    public void StochasticDepthFollowsTheReferenceBlocks(BackboneFamily family, double rate, bool subset)
    {
        var config = family == BackboneFamily.Dinov2
            ? VisionTransformerVariants.Get("vit_pico_p14") with { DropPathRate = rate }
            : VisionTransformerVariants.Get("dinov3_vits16") with { Depth = 2, DropPathRate = rate };
        using var vit = new DinoVisionTransformer(config);
        var blocks = vit.modules().OfType<Block>().ToList();
        Assert.Equal(config.Depth, blocks.Count);
        Assert.All(blocks, b => Assert.Equal(subset, b.SubsetDropPath));
    }

    /// <summary>Round to the nearest bfloat16 (ties to even), via float32 as libtorch's CPU kernels do.</summary>
    static double Bf16(double v)
    {
        uint bits = BitConverter.SingleToUInt32Bits((float)v);
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    /// <summary>
    /// bf16 RoPE rounds where the reference rounds: arange(0.5, H) and /H, 2·c and −1, ·2π (as a float32 scalar) and /period
    /// (the period itself rounded to bf16), each to bfloat16, then sin and cos rounded to bfloat16. Emulated here in double
    /// with an explicit rounding after each step; sin/cos may differ by one bf16 step where libm and libtorch's float sin
    /// round differently, so at most one step and on at most 2 % of the entries.
    /// </summary>
    [Fact]
    public void Bf16RopeRoundsEveryStepLikeTheReference()
    {
        var config = new RopeConfig { Dtype = RopeDtype.Bf16, NormalizeCoords = RopeCoordinateNormalization.Separate };
        using var rope = new RopePositionEmbedding(32, config);
        rope.eval();
        using (torch.no_grad()) rope.Periods.copy_(torch.tensor(new float[] { 1.0f, 1.7782794f, 3.1622777f, 5.623413f, 10f, 17.782795f, 31.622776f, 56.23413f }));
        const int h = 5, w = 7;
        using var tables = rope.Forward(h, w);
        var sin = tables.Sin.to(ScalarType.Float32).data<float>().ToArray();
        var cos = tables.Cos.to(ScalarType.Float32).data<float>().ToArray();
        var periods = rope.Periods.data<float>().ToArray();
        double twoPi = (float)(2 * Math.PI);
        int quarter = periods.Length, d = 4 * quarter, off = 0;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
            {
                int row = i * w + j;
                double ch = Bf16(Bf16(Bf16(2 * Bf16(Bf16(i + 0.5) / h)) - 1));
                double cw = Bf16(Bf16(Bf16(2 * Bf16(Bf16(j + 0.5) / w)) - 1));
                for (int half = 0; half < 2; half++)
                    for (int axis = 0; axis < 2; axis++)
                        for (int f = 0; f < quarter; f++)
                        {
                            double angle = Bf16(Bf16((axis == 0 ? ch : cw) * twoPi) / Bf16(periods[f]));
                            int col = half * (d / 2) + axis * quarter + f;
                            double es = Bf16(Math.Sin(angle)), ec = Bf16(Math.Cos(angle));
                            double ds = Math.Abs(sin[row * d + col] - es), dc = Math.Abs(cos[row * d + col] - ec);
                            Assert.True(ds <= Math.Pow(2, -8) && dc <= Math.Pow(2, -8), $"({i},{j}) col {col}: sin {sin[row * d + col]} vs {es}, cos {cos[row * d + col]} vs {ec}");
                            if (ds > 0 || dc > 0) off++;
                        }
            }
        Assert.True(off <= 0.02 * h * w * d, $"{off} of {h * w * d} entries differ from the step-by-step bf16 emulation");
    }
}
