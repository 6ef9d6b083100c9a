namespace DinoSharp.Benchmarking;

/// <summary>Mean seconds per training step by phase, and the throughput that gives.</summary>
/// <param name="Steps">Timed steps (after warm-up).</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="DataWait">Waiting for the loader (0 when the batch comes from memory).</param>
/// <param name="Teacher">Teacher forward and heads.</param>
/// <param name="StudentForward">Student forward on all crops, heads and losses.</param>
/// <param name="Backward">Backward of the total loss.</param>
/// <param name="Optimizer">zero_grad, gradient clipping and AdamW.</param>
/// <param name="Ema">Teacher EMA update.</param>
/// <param name="WallSecondsPerStep">Wall time per step measured around the whole loop (≥ the sum of phases).</param>
/// <param name="FlopsPerStep">Analytic FLOPs per step (<see cref="TrainingStepFlops"/>).</param>
public sealed record StepProfile(int Steps, int BatchSize, double DataWait, double Teacher, double StudentForward, double Backward,
    double Optimizer, double Ema, double WallSecondsPerStep, double FlopsPerStep)
{
    /// <summary>Training throughput: <see cref="BatchSize"/> / <see cref="WallSecondsPerStep"/>.</summary>
    public double ImagesPerSecond => BatchSize / WallSecondsPerStep;
    /// <summary>Achieved rate in GFLOP/s: <see cref="FlopsPerStep"/> / <see cref="WallSecondsPerStep"/> / 10⁹.</summary>
    public double GflopsPerSecond => FlopsPerStep / WallSecondsPerStep / 1e9;
}
