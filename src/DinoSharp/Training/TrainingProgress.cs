namespace DinoSharp.Training;

/// <summary>What the trainer reports to whoever shows progress (the CLI draws a bar; tests ignore it).</summary>
public interface ITrainingProgress
{
    void Started(long startStep, long totalSteps);
    void Step(StepMetrics metrics, long totalSteps);
    void Message(string text);
    void Warning(string text);
}

/// <summary>Progress reporting that prints nothing.</summary>
public sealed class SilentProgress : ITrainingProgress
{
    public void Started(long startStep, long totalSteps) { }
    public void Step(StepMetrics metrics, long totalSteps) { }
    public void Message(string text) { }
    public void Warning(string text) { }
}
