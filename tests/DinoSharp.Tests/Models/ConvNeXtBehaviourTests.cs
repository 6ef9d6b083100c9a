using DinoSharp.Losses;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Models;

/// <summary>The ConvNeXt as a trainable DINO backbone: stochastic depth, gradients, and Gram anchoring on its patch tokens.</summary>
public sealed class ConvNeXtBehaviourTests
{
    static ConvNeXtConfig Small => new() { Depths = [1, 1, 2, 1], Dims = [8, 16, 16, 24], PatchSize = 16 };

    [Fact]
    public void DropPathActsOnlyInTrainingAndEveryParameterGetsAGradient()
    {
        // Own generators: other tests reseed libtorch's global one in parallel.
        using var generator = new Generator(3);
        using var convnext = new ConvNeXt(Small with { DropPathRate = 0.5 }, generator);
        using var x = torch.randn(4, 3, 64, 64, generator: generator);

        convnext.eval();
        using (torch.no_grad())
        using (var a = convnext.call(x))
        using (var b = convnext.call(x))
            Assert.True(a.equal(b).all().item<bool>());

        convnext.train();
        using var scope = torch.NewDisposeScope();
        var outputs = Enumerable.Range(0, 4).Select(_ => convnext.call(x)).ToList();
        Assert.Contains(outputs.Skip(1), o => !o.allclose(outputs[0]));

        // Gradients accumulated over five passes: one pass can drop a block for all four samples (p = 0.5 each, drawn
        // from libtorch's global generator), which leaves its gamma without a gradient; five in a row: about 1e-6.
        for (int pass = 0; pass < 5; pass++)
        {
            using var features = convnext.ForwardFeatures(x);
            (features.ClsToken.pow(2).sum() + features.PatchTokens.pow(2).sum()).backward();
        }
        foreach (var (name, p) in convnext.named_parameters())
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"{name} got no gradient");
    }

    /// <summary>
    /// Gram anchoring alone, from a random student towards a random teacher's patch similarities: the loss falls (the
    /// student's Gram matrices move to the teacher's), as in DINOv3's refinement stage.
    /// </summary>
    [Fact]
    public void GramAnchoringPullsTheStudentsPatchSimilaritiesToTheTeachers()
    {
        using var generator = new Generator(11);
        using var student = new ConvNeXt(Small, generator);
        using var teacher = new ConvNeXt(Small, generator);
        using var x = torch.randn(2, 3, 64, 64, generator: generator);
        using var loss = new GramLoss(removeNeg: false);
        Tensor target;
        using (torch.no_grad())
            target = teacher.GetIntermediateLayers(x, [2])[0].PatchTokens.detach();   // stage 2 (4×4), on the 4×4 patch grid
        using var optimizer = torch.optim.Adam(student.parameters(), lr: 5e-3);
        student.train();
        var losses = new List<float>();
        for (int step = 0; step < 20; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var value = loss.call(student.GetIntermediateLayers(x, [2])[0].PatchTokens, target);
            value.backward();
            optimizer.step();
            losses.Add(value.item<float>());
        }
        Assert.True(losses[^1] < 0.5 * losses[0], $"Gram loss {losses[0]:G4} → {losses[^1]:G4}");
    }
}
