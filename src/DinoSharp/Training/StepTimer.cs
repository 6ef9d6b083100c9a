using System.Diagnostics;

namespace DinoSharp.Training;

/// <summary>
/// Splits a step's wall time into <see cref="StepPhase"/>s: each <see cref="Lap"/> charges the time since the previous
/// lap to a phase. On the CPU libtorch runs synchronously, so a lap after an operation includes all its work (on CUDA
/// the charge would land on whatever phase synchronises first).
/// </summary>
public sealed class StepTimer
{
    readonly double[] seconds = new double[Enum.GetValues<StepPhase>().Length];
    readonly Stopwatch clock = new();

    /// <summary>Steps counted so far (<see cref="EndStep"/> calls).</summary>
    public int Steps { get; private set; }

    /// <summary>Starts timing a step: the next lap is measured from here.</summary>
    public void StartStep() => clock.Restart();

    /// <summary>Charges the time since the last lap (or <see cref="StartStep"/>) to <paramref name="phase"/>.</summary>
    public void Lap(StepPhase phase)
    {
        seconds[(int)phase] += clock.Elapsed.TotalSeconds;
        clock.Restart();
    }

    /// <summary>Counts one finished step (the divisor of the means).</summary>
    public void EndStep() => Steps++;

    /// <summary>Mean seconds per step spent in <paramref name="phase"/>.</summary>
    public double MeanSeconds(StepPhase phase) => Steps == 0 ? 0 : seconds[(int)phase] / Steps;

    /// <summary>Mean seconds per step, all phases.</summary>
    public double MeanStepSeconds => Steps == 0 ? 0 : seconds.Sum() / Steps;

    /// <summary>Forgets all laps and steps (e.g. after warm-up).</summary>
    public void Reset()
    {
        Array.Clear(seconds);
        Steps = 0;
    }
}
