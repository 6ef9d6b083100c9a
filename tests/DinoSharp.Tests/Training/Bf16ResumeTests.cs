using DinoSharp.Tests.Reliability;
using DinoSharp.Training;

namespace DinoSharp.Tests.Training;

/// <summary>
/// Resume is exact within a precision (fp32 and bf16; after the merge of main's subset drop path this test failed once in
/// isolation and passed when rerun: see the TrainStepTests note): a run interrupted after step 6 and resumed ends with the same teacher, bit
/// for bit, and the same logged losses as the uninterrupted run (checkpoints hold the float32 master weights and
/// optimiser state; the bf16 casts are recomputed from them each step). On a CPU that only emulates bfloat16, the bf16
/// run and its resume each warn that it is slower there.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class Bf16ResumeTests : IDisposable
{
    readonly string dir = TinyRun.NewFolder("bf16-resume");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData("bf16")]
    [InlineData("fp32")]
    public void InterruptedRunResumesExactly(string precision)
    {
        var config = TinyRun.Config("precision=" + precision, "train.knn_every=0");
        string whole = Path.Combine(dir, "whole"), parts = Path.Combine(dir, "parts");
        var full = new DinoTrainer(config, new TrainingOptions { OutputDir = whole, MaxSteps = TinyRun.Steps }).Run();
        Assert.Equal(TrainingOutcome.Completed, full.Outcome);

        using var cancel = new CancellationTokenSource();
        var firstProgress = new RecordingProgress(6, cancel);
        var first = new DinoTrainer(config, new TrainingOptions { OutputDir = parts, MaxSteps = TinyRun.Steps }, firstProgress).Run(cancel.Token);
        Assert.Equal(TrainingOutcome.Interrupted, first.Outcome);
        Assert.Equal(6, first.Steps);
        var secondProgress = new RecordingProgress();
        var second = new DinoTrainer(config, new TrainingOptions { OutputDir = parts, MaxSteps = TinyRun.Steps, Resume = true }, secondProgress).Run();
        Assert.Equal(TinyRun.Steps, second.Steps);
        bool emulated = precision == "bf16" && !DinoSharp.Layers.ComputePrecision.CpuHasNativeBf16;
        Assert.Equal(emulated, firstProgress.Warnings.Any(w => w.Contains("no native bfloat16 dot products", StringComparison.Ordinal)));
        Assert.Equal(emulated, secondProgress.Warnings.Any(w => w.Contains("which this CPU only emulates", StringComparison.Ordinal)));

        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "teacher_backbone.safetensors")), File.ReadAllBytes(Path.Combine(parts, "teacher_backbone.safetensors")));
        var expected = TinyRun.Metrics(whole);
        var actual = TinyRun.Metrics(parts);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (step, e) in expected)
        {
            Assert.Equal(e.TotalLoss, actual[step].TotalLoss);
            Assert.Equal(e.GradNorm, actual[step].GradNorm);
        }
        // The weights saved are float32 master weights.
        var saved = DinoSharp.Interop.SafetensorsFile.Load(Path.Combine(parts, "checkpoints", $"step_{TinyRun.Steps:D8}", "model.safetensors"));
        Assert.All(saved.Values.Where(t => t.is_floating_point()), t => Assert.Equal(TorchSharp.torch.ScalarType.Float32, t.dtype));
    }
}
