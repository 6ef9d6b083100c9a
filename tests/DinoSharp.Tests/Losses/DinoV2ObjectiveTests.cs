using DinoSharp.Losses;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Losses;

/// <summary>
/// The combination of terms, checked against values assembled by hand from the fixture tensors (B = 4 images,
/// G = 2 global and L = 3 local crops, so n = 2 + 6 = 8 loss terms).
/// </summary>
[Trait("Category", "Parity")]   // needs the reference fixtures (tests/fixtures)
public sealed class DinoV2ObjectiveTests(ITestOutputHelper output)
{
    static readonly LossFixtureInputs X = new(ReferenceFixtures.Instance);

    static DinoV2Objective Objective(TeacherCentering centering) => new(new ObjectiveConfig
    {
        OutDim = X.OutDim, StudentTemp = X.StudentTemp, CenterMomentum = X.CenterMomentum,
        Centering = centering, SinkhornIterations = X.SinkhornIterations,
    });

    static ObjectiveInputs Inputs(bool requireGrad = false) => new()
    {
        StudentGlobalCls = X.Load("dino_student_global").requires_grad_(requireGrad),
        TeacherGlobalCls = X.Load("dino_teacher_logits"),
        StudentLocalCls = X.Load("dino_student_local"),
        StudentGlobalClsTokens = X.Load("koleo_x").narrow(0, 0, 2 * X.ImagesPerCrop),
        StudentMaskedPatches = X.Load("ibot_student_logits"),
        TeacherMaskedPatches = X.Load("ibot_teacher_logits"),
        Masks = X.Masks,
        MasksWeight = X.Load("ibot_masks_weight"),
        MaskedPatchCount = X.MaskedPatches,
    };

    /// <summary>2·(−mean over 2B rows of Σ_k swapped_t · log_softmax(s/τs)) / n with the two teacher crops exchanged, in float64.</summary>
    static double CrossGlobalByHand(Tensor teacherProbs, int lossTerms)
    {
        var t = Rows(teacherProbs);
        var s = Rows(X.Load("dino_student_global"));
        int b = X.ImagesPerCrop, rows = s.Length;
        double sum = 0;
        for (int i = 0; i < rows; i++)
        {
            var target = t[(i + b) % rows];  // row i of crop 0 ↔ row i of crop 1
            var z = s[i].Select(v => v / X.StudentTemp).ToArray();
            double max = z.Max(), logNorm = max + Math.Log(z.Sum(v => Math.Exp(v - max)));
            sum -= target.Select((p, k) => p * (z[k] - logNorm)).Sum();
        }
        return 2 * (sum / rows) / lossTerms;
    }

    /// <summary>−mean_i log(‖x̂_i − x̂_nn(i) + 1e-8‖ + 1e-8) by brute force in float64.</summary>
    static double KoLeoByHand(double[][] x)
    {
        var xn = x.Select(r => { double n = Math.Max(Math.Sqrt(r.Sum(v => v * v)), 1e-8); return r.Select(v => v / n).ToArray(); }).ToArray();
        double total = 0;
        for (int i = 0; i < xn.Length; i++)
        {
            int nn = Enumerable.Range(0, xn.Length).Where(j => j != i)
                .MaxBy(j => xn[i].Select((v, k) => v * xn[j][k]).Sum());
            double d = Math.Sqrt(xn[i].Select((v, k) => Math.Pow(v - xn[nn][k] + 1e-8, 2)).Sum());
            total += Math.Log(d + 1e-8);
        }
        return -total / xn.Length;
    }

    static double MeanEntropyByHand(Tensor probs) =>
        Rows(probs).Average(r => -r.Where(p => p > 0).Sum(p => p * Math.Log(p)));

    static double[][] Rows(Tensor t)
    {
        var data = t.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        int cols = (int)t.shape[1];
        return Enumerable.Range(0, (int)t.shape[0]).Select(r => data.AsSpan(r * cols, cols).ToArray()).ToArray();
    }

    static double Value(Tensor t) => t.to(ScalarType.Float64).item<double>();

    [Theory]
    [InlineData(TeacherCentering.Centering, "dino_center_step1_probs", "dino_loss_local_centering", "ibot_forward_masked")]
    [InlineData(TeacherCentering.SinkhornKnopp, "dino_sinkhorn_probs", "dino_loss_local_sinkhorn", "ibot_forward_masked_sinkhorn")]
    public void CombinesTermsLikeSslMetaArch(TeacherCentering centering, string teacherProbs, string localLoss, string ibotLoss)
    {
        using var scope = torch.NewDisposeScope();
        using var objective = Objective(centering);
        var terms = objective.call(Inputs(), X.TeacherTemp);

        const int n = 8;  // G(G−1) + G·L = 2 + 6
        Assert.Equal(n, (X.GlobalCrops - 1) * X.GlobalCrops + X.GlobalCrops * X.LocalCrops);
        int b = X.ImagesPerCrop;
        var kx = Rows(X.Load("koleo_x"));
        var expected = new Dictionary<string, double>
        {
            ["DinoLocal"] = Value(X.Load(localLoss)) / n,
            ["DinoGlobal"] = CrossGlobalByHand(X.Load(teacherProbs), n),
            ["Koleo"] = 0.1 * (KoLeoByHand(kx[..b]) + KoLeoByHand(kx[b..(2 * b)])),
            ["Ibot"] = Value(X.Load(ibotLoss)) * 2 * (1.0 / X.GlobalCrops),
            ["TeacherEntropy"] = MeanEntropyByHand(X.Load(teacherProbs)),
            ["CenterNorm"] = 0.0,
        };
        expected["Total"] = expected["DinoLocal"] + expected["DinoGlobal"] + expected["Koleo"] + expected["Ibot"];
        var actual = new Dictionary<string, double>
        {
            ["DinoLocal"] = Value(terms.DinoLocal), ["DinoGlobal"] = Value(terms.DinoGlobal), ["Koleo"] = Value(terms.Koleo),
            ["Ibot"] = Value(terms.Ibot), ["TeacherEntropy"] = Value(terms.TeacherEntropy), ["CenterNorm"] = Value(terms.CenterNorm),
            ["Total"] = Value(terms.Total),
        };
        foreach (var (key, value) in expected)
        {
            double err = Math.Abs(actual[key] - value);
            output.WriteLine($"{centering} {key}: ours {actual[key]:R}, by hand {value:R}, abs err {err:E2}");
            Assert.True(err <= 1e-5, $"{key}: {actual[key]} vs {value}");
        }

        // The global term really pairs crop A with crop B: the same-crop pairing (fixture "global" loss) differs.
        var sameCrop = Value(X.Load(localLoss.Replace("local", "global", StringComparison.Ordinal))) * 2 / n;
        Assert.True(Math.Abs(sameCrop - actual["DinoGlobal"]) > 1e-3);
    }

    [Fact]
    public void CentersMoveOnlyWhenAskedAndOnlyWithCentering()
    {
        using var scope = torch.NewDisposeScope();
        using var objective = Objective(TeacherCentering.Centering);
        var inputs = Inputs();
        objective.call(inputs, X.TeacherTemp);
        Assert.Equal(0.0, Value(objective.DinoLoss.Center.abs().max()));
        objective.UpdateCenters(inputs.TeacherGlobalCls, inputs.TeacherMaskedPatches, inputs.MaskedPatchCount);
        Assert.True(ReferenceFixtures.MaxAbsDiff(objective.DinoLoss.Center, X.Load("dino_center_after_update1")) <= 1e-7);
        Assert.True(ReferenceFixtures.MaxAbsDiff(objective.IbotLoss.Center, X.Load("ibot_center_after_update1")) <= 1e-7);
        var terms = objective.call(inputs, X.TeacherTemp);
        Assert.Equal(Value(X.Load("dino_center_after_update1").norm()), Value(terms.CenterNorm), 6);

        using var sinkhorn = Objective(TeacherCentering.SinkhornKnopp);
        sinkhorn.UpdateCenters(inputs.TeacherGlobalCls, inputs.TeacherMaskedPatches);
        Assert.Equal(0.0, Value(sinkhorn.DinoLoss.Center.abs().max()));
    }

    [Fact]
    public void GradientReachesOnlyTheStudent()
    {
        using var scope = torch.NewDisposeScope();
        using var objective = Objective(TeacherCentering.Centering);
        var inputs = Inputs(requireGrad: true) with { TeacherGlobalCls = X.Load("dino_teacher_logits").requires_grad_(true) };
        objective.call(inputs, X.TeacherTemp).Total.backward();
        Assert.NotNull(inputs.StudentGlobalCls.grad);
        Assert.Null(inputs.TeacherGlobalCls.grad);
    }

    [Fact]
    public void DisabledTermsAreZeroAndInputsAreValidated()
    {
        using var scope = torch.NewDisposeScope();
        using var noIbot = new DinoV2Objective(new ObjectiveConfig { OutDim = X.OutDim, IbotLossWeight = 0, KoLeoLossWeight = 0 });
        var inputs = Inputs() with { StudentMaskedPatches = null, StudentGlobalClsTokens = null };
        var terms = noIbot.call(inputs, X.TeacherTemp);
        Assert.Equal(0.0, Value(terms.Ibot));
        Assert.Equal(0.0, Value(terms.Koleo));
        Assert.Equal(Value(terms.DinoLocal) + Value(terms.DinoGlobal), Value(terms.Total), 6);

        using var full = Objective(TeacherCentering.Centering);
        Assert.Throws<ArgumentException>(() => full.call(inputs, X.TeacherTemp));
        Assert.Throws<ArgumentException>(() => full.call(Inputs() with { TeacherGlobalCls = torch.zeros(6, X.OutDim) }, X.TeacherTemp));
        Assert.Throws<ArgumentException>(() => full.call(Inputs() with { StudentLocalCls = torch.zeros(5, X.OutDim) }, X.TeacherTemp));
        Assert.Throws<ArgumentException>(() => full.call(Inputs() with { Masks = X.Masks.narrow(0, 0, 4) }, X.TeacherTemp));
    }
}
