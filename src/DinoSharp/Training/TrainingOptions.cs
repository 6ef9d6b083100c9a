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
}
