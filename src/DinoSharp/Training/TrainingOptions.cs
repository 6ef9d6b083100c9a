namespace DinoSharp.Training;

/// <summary>How long and where a run goes; everything else is in <see cref="DinoTrainingConfig"/>.</summary>
public sealed record TrainingOptions
{
    /// <summary>The run folder (config.json, metrics.jsonl, checkpoints/, teacher_backbone.safetensors, model.json).</summary>
    public required string OutputDir { get; init; }
    /// <summary>Stop after this many steps (the schedules span exactly this many).</summary>
    public long? MaxSteps { get; init; }
    /// <summary>Wall-clock budget: the step count is calibrated from the first steps so the schedules end on time.</summary>
    public double? MaxMinutes { get; init; }
    /// <summary>Continue from the latest valid checkpoint in the run folder.</summary>
    public bool Resume { get; init; }
    /// <summary>"cpu" or "cuda[:n]".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>libtorch intra-op threads (0 = all cores).</summary>
    public int Threads { get; init; }
    /// <summary>
    /// Hold the process's finalizer thread during each training step (<see cref="FinalizerHold"/>; default true): the
    /// work-around for TorchSharp 0.107 freeing implicitly converted Scalars mid-call when another thread's allocations
    /// start a garbage collection. Process-wide: no finalizer of the host application runs while a step runs (they run
    /// between steps), and each step forces one gen-0 collection. Turn it off only if nothing else allocates while the
    /// trainer runs, which the trainer's own data-loading threads already do; without it a run fails at random after
    /// minutes (a "toFloat" error or a crash).
    /// </summary>
    public bool HoldFinalizers { get; init; } = true;
}
