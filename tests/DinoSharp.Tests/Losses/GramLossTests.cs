using System.Text.Json;
using DinoSharp.Losses;
using DinoSharp.Tests.Fixtures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Losses;

public sealed class GramLossTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-5;
    static ReferenceFixtures Fx => ReferenceFixtures.V3;

    /// <summary>The Gram cases of the manifest (<c>cases.gram__*</c>).</summary>
    public static TheoryData<string> Cases() =>
        [.. Fx.Cases().Where(c => c.Name.StartsWith("gram__", StringComparison.Ordinal)).Select(c => c.Name)];

    /// <summary>The reference's GramLoss(**args) with forward's img_level from the same args (its default: true).</summary>
    static GramLoss FromArgs(JsonElement args)
    {
        bool Flag(string name, bool fallback) => args.TryGetProperty(name, out var v) ? v.GetBoolean() : fallback;
        return new GramLoss(Flag("apply_norm", true), Flag("img_level", true), Flag("remove_neg", true), Flag("remove_only_teacher_neg", false));
    }

    [Trait("Category", "Parity")]
    [Theory]
    [MemberData(nameof(Cases))]
    public void LossAndStudentGradientMatchReference(string name)
    {
        using var scope = torch.NewDisposeScope();
        var args = Fx.Cases().Single(c => c.Name == name).Args;
        using var loss = FromArgs(args);
        var student = Fx.Load("gram__student").requires_grad_(true);
        var teacher = Fx.Load("gram__teacher");
        var value = loss.call(student, teacher);
        value.backward();

        var outputs = Fx.Tensors.Keys.Where(n => n.StartsWith(name + "__", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(outputs);
        foreach (var tensor in outputs)
        {
            var actual = tensor[(name.Length + 2)..] switch
            {
                "loss" => value.detach(),
                "grad_student" => student.grad!,
                var other => throw new InvalidOperationException($"Fixture {tensor} ({other}) is new to this suite: read its meaning in manifest.json and add it."),
            };
            var expected = Fx.Load(tensor);
            double err = ReferenceFixtures.MaxAbsDiff(actual.reshape(expected.shape), expected);
            double reference = expected.abs().max().item<float>();
            output.WriteLine($"{tensor}: max abs err {err:E2} (|reference| ≤ {reference:G4})");
            // Without normalisation (apply_norm false) a loss is a mean of squared raw dot products and can be large (69
            // here): 1e-5 absolute is then below float32's resolution, so scalars above 10 are compared at 1e-6 relative.
            double tolerance = expected.dim() == 0 && reference > 10 ? 1e-6 * reference : Tolerance;
            Assert.True(err <= tolerance, $"{tensor}: max abs err {err} > {tolerance}");
        }
    }

    [Fact]
    public void IdenticalFeaturesGiveZeroAndTheLossIsInvariantToTokenScale()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 5, 4);
        Assert.Equal(0.0, new GramLoss().call(x, x).item<float>());
        var y = torch.randn(2, 5, 4);
        // With normalisation, rescaling each token changes nothing; without it, it does.
        var scale = torch.rand(2, 5, 1) + 0.5;
        Assert.Equal(new GramLoss().call(x, y).item<float>(), new GramLoss().call(x * scale, y).item<float>(), 5);
        Assert.NotEqual(new GramLoss(applyNorm: false).call(x, y).item<float>(), new GramLoss(applyNorm: false).call(x * scale, y).item<float>(), 3);
    }

    [Fact]
    public void BatchLevelComparesTokensAcrossImagesAndAcceptsFlatInput()
    {
        using var scope = torch.NewDisposeScope();
        var s = torch.randn(3, 4, 6);
        var t = torch.randn(3, 4, 8);   // the teacher may be wider: only the Gram matrices are compared
        var batch = new GramLoss(imgLevel: false, removeNeg: false);
        Assert.Equal(batch.call(s, t).item<float>(), batch.call(s.flatten(0, 1), t.flatten(0, 1)).item<float>(), 6);
        Assert.NotEqual(batch.call(s, t).item<float>(), new GramLoss(removeNeg: false).call(s, t).item<float>(), 4);
    }

    [Fact]
    public void BadArgumentsAreOneLineErrorsNamingTheShapes()
    {
        Assert.Throws<ArgumentException>(() => new GramLoss(removeNeg: true, removeOnlyTeacherNeg: true));
        var e = Assert.Throws<ArgumentException>(() => new GramLoss().call(torch.zeros(8, 4), torch.zeros(8, 4)));
        Assert.Contains("[8, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new GramLoss().call(torch.zeros(2, 16, 4), torch.zeros(2, 9, 4)));
        Assert.Contains("[2, 9, 4]", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Throws<ArgumentException>(() => new GramLoss(imgLevel: false).call(torch.zeros(2, 16, 4), torch.zeros(30, 4)));
    }
}
