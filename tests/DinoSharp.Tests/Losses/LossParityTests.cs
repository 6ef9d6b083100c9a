using DinoSharp.Losses;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Losses;

/// <summary>Every <c>loss__*</c> tensor of the fixture manifest, recomputed with our losses.</summary>
[Trait("Category", "Parity")]
public sealed class LossParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-5;

    public static IEnumerable<object[]> OracleOutputs() =>
        ReferenceFixtures.Instance.Tensors.Keys
            .Where(n => n.StartsWith("loss__", StringComparison.Ordinal) && !LossFixtureInputs.InputNames.Contains(n))
            .Order(StringComparer.Ordinal)
            .Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(OracleOutputs))]
    public void MatchesReference(string name)
    {
        using var scope = torch.NewDisposeScope();
        var input = new LossFixtureInputs(ReferenceFixtures.Instance);
        var expected = input.Fx.Load(name);
        var actual = Compute(input, name["loss__".Length..]).reshape(expected.shape);
        double err = ReferenceFixtures.MaxAbsDiff(actual, expected);
        double reference = expected.abs().max().item<float>();
        output.WriteLine($"{name}: max abs err {err:E2} (|reference| ≤ {reference:G4})");
        // The scalar losses are sums of up to 6 float32 cross-entropies of magnitude ~5 each; 1e-5 absolute is a few ulp
        // there, so scalars above 10 are compared relatively (1e-6 · |value|, still far below any real discrepancy).
        double tolerance = expected.dim() == 0 && reference > 10 ? 1e-6 * reference : Tolerance;
        Assert.True(err <= tolerance, $"{name}: max abs err {err} > {tolerance}");
    }

    [Fact]
    public void EveryLossFixtureIsCheckedOrAnInput()
    {
        var fx = ReferenceFixtures.Instance;
        var input = new LossFixtureInputs(fx);
        foreach (var name in fx.Tensors.Keys.Where(n => n.StartsWith("loss__", StringComparison.Ordinal)))
        {
            if (LossFixtureInputs.InputNames.Contains(name)) continue;
            using var scope = torch.NewDisposeScope();
            Compute(input, name["loss__".Length..]);  // throws for a fixture this suite does not know
        }
    }

    static Tensor Compute(LossFixtureInputs x, string name)
    {
        int g = x.GlobalCrops, l = x.LocalCrops, k = x.OutDim;
        double tt = x.TeacherTemp;
        var teacher1 = x.Load("dino_teacher_logits");
        DinoClsTokenLoss Dino() => new(k, x.StudentTemp, x.CenterMomentum);
        IbotPatchLoss Ibot() => new(k, x.StudentTemp, x.CenterMomentum);
        Tensor DinoLoss(Tensor probs, bool local) =>
            Dino().call(local ? x.Load("dino_student_local").chunk(l) : [x.Load("dino_student_global")],
                        local ? probs.chunk(g) : [probs]);
        Tensor IbotMasked(Tensor probs, bool weights) =>
            weights ? Ibot().ForwardMasked(x.Load("ibot_student_logits"), probs, x.Masks, x.MaskedPatches, x.Load("ibot_masks_weight"))
                    : Ibot().ForwardMasked(x.Load("ibot_student_logits"), probs, x.Masks);
        Tensor DinoSinkhorn() => Dino().SinkhornKnoppTeacher(teacher1, tt, x.SinkhornIterations);
        Tensor IbotStep1() => Ibot().SoftmaxCenterTeacher(x.Load("ibot_teacher_logits"), tt);
        Tensor IbotSinkhorn() => Ibot().SinkhornKnoppTeacher(x.Load("ibot_teacher_logits"), tt, x.MaskedPatches, x.SinkhornIterations);

        switch (name)
        {
            case "dino_center_step1_probs": return Dino().SoftmaxCenterTeacher(teacher1, tt);
            case "dino_center_after_update1" or "dino_center_step2_probs" or "dino_center_after_update2":
            {
                var loss = Dino();
                loss.UpdateCenter(teacher1);
                if (name == "dino_center_after_update1") return loss.Center;
                if (name == "dino_center_step2_probs") return loss.SoftmaxCenterTeacher(x.Load("dino_teacher_logits2"), tt);
                loss.UpdateCenter(x.Load("dino_teacher_logits2"));
                return loss.Center;
            }
            case "dino_loss_local_centering": return DinoLoss(Dino().SoftmaxCenterTeacher(teacher1, tt), local: true);
            case "dino_loss_global_centering": return DinoLoss(Dino().SoftmaxCenterTeacher(teacher1, tt), local: false);
            case "dino_sinkhorn_probs": return DinoSinkhorn();
            case "dino_loss_local_sinkhorn": return DinoLoss(DinoSinkhorn(), local: true);
            case "dino_loss_global_sinkhorn": return DinoLoss(DinoSinkhorn(), local: false);
            case "ibot_mask_indices": return x.Masks.flatten().nonzero().flatten().to(ScalarType.Float32);
            case "ibot_masks_weight": return IbotPatchLoss.PatchWeights(x.Masks);
            case "ibot_center_step1_probs": return IbotStep1();
            case "ibot_forward_masked": return IbotMasked(IbotStep1(), weights: true);
            case "ibot_forward_masked_noweight": return IbotMasked(IbotStep1(), weights: false);
            case "ibot_center_after_update1":
            {
                var loss = Ibot();
                loss.UpdateCenter(x.Load("ibot_teacher_logits").unsqueeze(0));
                return loss.Center;
            }
            case "ibot_sinkhorn_probs": return IbotSinkhorn();
            case "ibot_forward_masked_sinkhorn": return IbotMasked(IbotSinkhorn(), weights: true);
            case "ibot_full_teacher_probs": return Ibot().SoftmaxCenterTeacher(x.Load("ibot_full_teacher_logits"), tt);
            case "ibot_forward_full":
                return Ibot().call(x.Load("ibot_full_student"), Ibot().SoftmaxCenterTeacher(x.Load("ibot_full_teacher_logits"), tt), x.Masks);
            case "koleo_nn_index":
                return KoLeoLoss.NearestNeighbourIndices(nn.functional.normalize(x.Load("koleo_x"), p: 2, dim: -1, eps: KoLeoLoss.Epsilon)).to(ScalarType.Float32);
            case "koleo_loss": return new KoLeoLoss().call(x.Load("koleo_x"));
            default: throw new InvalidOperationException($"Fixture loss__{name} is new to this suite: read its meaning in manifest.json and add it.");
        }
    }
}
