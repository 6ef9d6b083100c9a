using DinoSharp.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Losses;

public sealed class LossBehaviourTests
{
    [Fact]
    public void CentersAreRegisteredBuffersThatFollowTheModule()
    {
        using var dino = new DinoClsTokenLoss(8);
        using var ibot = new IbotPatchLoss(8);
        Assert.Equal(new long[] { 1, 8 }, dino.state_dict()["center"].shape);
        Assert.Equal(new long[] { 1, 1, 8 }, ibot.state_dict()["center"].shape);
        Assert.Empty(dino.parameters());

        dino.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, dino.Center.dtype);
        Assert.Same(dino.state_dict()["center"], dino.Center);
        dino.UpdateCenter(torch.ones(3, 8, dtype: ScalarType.Float64));
        Assert.Equal(0.1, dino.state_dict()["center"][0, 0].item<double>(), 12);
    }

    [Fact]
    public void TargetsAndLossDoNotTouchTheCenter()
    {
        using var loss = new DinoClsTokenLoss(8);
        loss.UpdateCenter(torch.randn(4, 8));
        var before = loss.Center.clone();
        var probs = loss.SoftmaxCenterTeacher(torch.randn(4, 8), 0.04);
        loss.call([torch.randn(4, 8)], [probs]);
        loss.SinkhornKnoppTeacher(torch.randn(4, 8), 0.04);
        Assert.True(before.allclose(loss.Center, rtol: 0, atol: 0));
    }

    [Fact]
    public void TeacherTargetsCarryNoGradient()
    {
        using var loss = new DinoClsTokenLoss(8);
        var teacher = torch.randn(4, 8, requires_grad: true);
        Assert.False(loss.SoftmaxCenterTeacher(teacher, 0.04).requires_grad);
        Assert.False(loss.SinkhornKnoppTeacher(teacher, 0.04).requires_grad);
        var student = torch.randn(4, 8, requires_grad: true);
        var value = loss.call([student], [loss.SoftmaxCenterTeacher(teacher, 0.04)]);
        value.backward();
        Assert.NotNull(student.grad);
        Assert.Null(teacher.grad);
    }

    [Fact]
    public void SinkhornRowsSumToOneAndPrototypesShareMass()
    {
        using var loss = new DinoClsTokenLoss(16);
        var logits = torch.randn(32, 16) * 0.3;
        var q = loss.SinkhornKnoppTeacher(logits, 0.1, iterations: 200);
        Assert.True(q.sum(dim: 1).allclose(torch.ones(32), atol: 1e-5));
        // Converged, every prototype holds B/K = 2 of the mass, unlike the plain softmax it balances.
        double Spread(Tensor p) => (p.sum(dim: 0) - 2.0).abs().max().item<float>();
        Assert.True(Spread(q) < 1e-3, $"spread {Spread(q)}");
        Assert.True(Spread(loss.SoftmaxCenterTeacher(logits, 0.1)) > 0.1);
    }

    [Fact]
    public void AllReduceHookSeesGlobalBatch()
    {
        // Two processes holding the same batch are indistinguishable from one: a "sum over 2 identical processes"
        // hook (×2) must give the same center and the same Sinkhorn targets as no hook.
        Func<Tensor, Tensor> twoProcesses = t => t * 2;
        // Seeded, and in the range the head produces (cosine similarities in [-1, 1]): unseeded randn logits above
        // ~3.55 overflow exp(logit / 0.04) to ∞ in float32 (as in the reference, Sinkhorn-Knopp exponentiates without
        // subtracting a max), which made this test fail about once in a hundred runs.
        using var generator = new Generator(7);
        var logits = torch.rand(6, 8, generator: generator) * 2 - 1;
        using var single = new DinoClsTokenLoss(8);
        using var dual = new DinoClsTokenLoss(8);
        single.UpdateCenter(logits);
        dual.UpdateCenter(logits, twoProcesses);
        Assert.True(single.Center.allclose(dual.Center, atol: 1e-7));
        Assert.True(single.SinkhornKnoppTeacher(logits, 0.04).allclose(dual.SinkhornKnoppTeacher(logits, 0.04, 3, twoProcesses), atol: 1e-6));

        using var ibotSingle = new IbotPatchLoss(8);
        using var ibotDual = new IbotPatchLoss(8);
        ibotSingle.UpdateCenter(logits);
        ibotDual.UpdateCenter(logits, twoProcesses);
        Assert.True(ibotSingle.Center.allclose(ibotDual.Center, atol: 1e-7));
    }

    [Fact]
    public void ShapeMismatchesAreRejected()
    {
        using var dino = new DinoClsTokenLoss(8);
        Assert.Throws<ArgumentException>(() => dino.SoftmaxCenterTeacher(torch.zeros(4, 7), 0.04));
        Assert.Throws<ArgumentException>(() => dino.call([torch.zeros(4, 8)], [torch.zeros(3, 8)]));
        Assert.Throws<ArgumentException>(() => dino.call([torch.zeros(4, 8)], []));
        Assert.Throws<ArgumentException>(() => dino.UpdateCenter(torch.zeros(4, 8, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => dino.SoftmaxCenterTeacher(torch.zeros(4, 8), 0));

        using var ibot = new IbotPatchLoss(8);
        Assert.Throws<ArgumentException>(() => ibot.call(torch.zeros(2, 5, 8), torch.zeros(2, 5, 8), torch.zeros(2, 4)));
        Assert.Throws<ArgumentException>(() => ibot.call(torch.zeros(2, 5, 8), torch.zeros(2, 4, 8), torch.zeros(2, 5)));
        Assert.Throws<ArgumentException>(() => ibot.ForwardMasked(torch.zeros(3, 8), torch.zeros(3, 8), torch.zeros(2, 4), masksWeight: torch.ones(2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ibot.ForwardMasked(torch.zeros(3, 8), torch.zeros(3, 8), torch.zeros(2, 4), nMaskedPatches: 4));

        using var koleo = new KoLeoLoss();
        Assert.Throws<ArgumentException>(() => koleo.call(torch.zeros(1, 8)));
        Assert.Throws<ArgumentException>(() => koleo.call(torch.zeros(2, 3, 8)));
    }

    [Fact]
    public void ForwardMaskedIgnoresPaddingRows()
    {
        using var ibot = new IbotPatchLoss(8);
        var masks = torch.tensor(new[] { true, true, false, false, false, true }).reshape(2, 3);
        var s = torch.randn(3, 8);
        var t = ibot.SoftmaxCenterTeacher(torch.randn(3, 8), 0.04);
        var padded = ibot.ForwardMasked(torch.cat([s, torch.randn(2, 8)]), torch.cat([t, torch.rand(2, 8)]), masks, nMaskedPatches: 3);
        var exact = ibot.ForwardMasked(s, t, masks);
        Assert.Equal(exact.item<float>(), padded.item<float>(), 6);
    }
}
