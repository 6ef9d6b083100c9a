using DinoSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Training;

public sealed class OptimisationStepTests
{
    /// <summary>Parameters whose gradients are exactly (3, 4) and (12): global norm 13.</summary>
    static Parameter[] WithGradients()
    {
        var a = new Parameter(torch.zeros(2));
        var b = new Parameter(torch.zeros(1));
        var loss = (a * torch.tensor(new[] { 3f, 4f })).sum() + (b * torch.tensor(new[] { 12f })).sum();
        loss.backward();
        return [a, b];
    }

    static double GradNorm(IEnumerable<Parameter> ps) => Math.Sqrt(ps.Sum(p => p.grad!.pow(2).sum().item<float>()));

    [Fact]
    public void ClippingScalesAGradientWithKnownNormToTheMaximum()
    {
        var ps = WithGradients();
        double total = GradientClipping.ClipGradNorm(ps, maxNorm: 6.5);
        Assert.Equal(13.0, total, 5);
        Assert.Equal(6.5, GradNorm(ps), 5);  // 6.5 · 13/(13 + 1e-6)
        Assert.Equal(1.5, ps[0].grad![0].item<float>(), 5);  // direction kept: (3,4,12)/2
        Assert.Equal(6.0, ps[1].grad![0].item<float>(), 5);
    }

    [Fact]
    public void ClippingLeavesSmallGradientsAlone()
    {
        var ps = WithGradients();
        Assert.Equal(13.0, GradientClipping.ClipGradNorm(ps, maxNorm: 20), 5);
        Assert.Equal(3.0f, ps[0].grad![0].item<float>());
        Assert.Equal(0.0, GradientClipping.ClipGradNorm([new Parameter(torch.zeros(3))]));  // no gradients at all
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipGradNorm(ps, 0));
    }

    [Fact]
    public void ClippingWithAnInfiniteBoundOnlyMeasures()
    {
        var ps = WithGradients();
        Assert.Equal(13.0, GradientClipping.ClipGradNorm(ps, double.PositiveInfinity), 5);
        Assert.Equal(3.0f, ps[0].grad![0].item<float>());
        Assert.Equal(12.0f, ps[1].grad![0].item<float>());
    }

    [Fact]
    public void EmaWithMomentumZeroCopiesAndOneKeeps()
    {
        var student = new[] { torch.tensor(new[] { 1f, 2f }), torch.tensor(new[] { 3f }) };
        var teacher = new[] { torch.tensor(new[] { 10f, 20f }), torch.tensor(new[] { 30f }) };
        var kept = teacher.Select(t => t.clone()).ToArray();

        ExponentialMovingAverage.Update(teacher, student, 1.0);
        for (int i = 0; i < 2; i++) Assert.True(teacher[i].eq(kept[i]).all().item<bool>());

        ExponentialMovingAverage.Update(teacher, student, 0.0);
        for (int i = 0; i < 2; i++) Assert.True(teacher[i].eq(student[i]).all().item<bool>());
    }

    [Fact]
    public void EmaBlendsInPlaceWithoutGradient()
    {
        var student = new Parameter(torch.tensor(new[] { 1f, 2f }));
        var teacher = new Parameter(torch.tensor(new[] { 11f, 22f }), requires_grad: false);
        var alias = teacher.detach();  // shares storage: sees the update only if it happens in place
        ExponentialMovingAverage.Update([teacher], [student], 0.9);
        Assert.Equal(0.9f * 11 + 0.1f * 1, alias[0].item<float>(), 5);
        Assert.Equal(0.9f * 11 + 0.1f * 1, teacher[0].item<float>(), 5);
        Assert.Equal(0.9f * 22 + 0.1f * 2, teacher[1].item<float>(), 5);
        Assert.Null(student.grad);
    }

    [Fact]
    public void EmaRejectsMismatchedTensors()
    {
        Assert.Throws<ArgumentException>(() => ExponentialMovingAverage.Update([torch.zeros(2)], [torch.zeros(3)], 0.5));
        Assert.Throws<ArgumentException>(() => ExponentialMovingAverage.Update([torch.zeros(2)], [], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExponentialMovingAverage.Update([torch.zeros(2)], [torch.zeros(2)], 1.5));
    }
}
