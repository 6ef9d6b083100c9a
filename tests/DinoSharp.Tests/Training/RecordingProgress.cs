using DinoSharp.Training;

namespace DinoSharp.Tests.Training;

/// <summary>Training progress for tests: keeps the warnings, and cancels the run once step <paramref name="cancelAfter"/> is logged when given a source (the trainer then checkpoints that step and stops).</summary>
sealed class RecordingProgress(long cancelAfter = long.MaxValue, CancellationTokenSource? cancel = null) : ITrainingProgress
{
    public List<string> Warnings { get; } = [];
    public void Started(long startStep, long totalSteps) { }
    public void Step(StepMetrics metrics, long totalSteps) { if (metrics.Step >= cancelAfter) cancel?.Cancel(); }
    public void Message(string text) { }
    public void Warning(string text) => Warnings.Add(text);
}
