namespace DinoSharp.Training;

/// <summary>What the trainer reports to whoever shows progress (the CLI draws a bar; tests ignore it).</summary>
public interface ITrainingProgress
{
    /// <summary>Training steps are about to start: from <paramref name="startStep"/> (non-zero on resume) to <paramref name="totalSteps"/>.</summary>
    void Started(long startStep, long totalSteps);
    /// <summary>A logged step (every train.log_every steps, at online kNN steps, and the last step).</summary>
    void Step(StepMetrics metrics, long totalSteps);
    /// <summary>An informational line (resume point, run size, untrained kNN).</summary>
    void Message(string text);
    /// <summary>A problem the run survives (unreadable image, possible collapse, time budget); may be called from data-loader threads.</summary>
    void Warning(string text);
}

/// <summary>Progress reporting that prints nothing.</summary>
public sealed class SilentProgress : ITrainingProgress
{
    /// <summary>Ignored.</summary>
    public void Started(long startStep, long totalSteps) { }
    /// <summary>Ignored.</summary>
    public void Step(StepMetrics metrics, long totalSteps) { }
    /// <summary>Ignored.</summary>
    public void Message(string text) { }
    /// <summary>Ignored.</summary>
    public void Warning(string text) { }
}
