using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DinoSharp.Cli;

/// <summary>
/// A rate measured by the caller and kept in <see cref="ProgressTask.Tag"/>: training reports its progress only at
/// logged steps, further apart than Spectre's speed window, so its rate is steps since the start over time since it.
/// </summary>
/// <param name="PerSecond">Units per second.</param>
internal sealed record MeasuredRate(double PerSecond);

/// <summary>"120/450 steps": the count done of the count planned.</summary>
internal sealed class CountColumn(string unit) : ProgressColumn
{
    public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
        task.IsIndeterminate ? Text.Empty
            : new Text(string.Create(CultureInfo.InvariantCulture, $"{task.Value:N0}/{task.MaxValue:N0} {unit}"), new Style(Color.Blue));
}

/// <summary>"3.2 steps/s" or "180 images/s": the task's rate in its own unit (Spectre's transfer-speed column shows bytes).</summary>
internal sealed class RateColumn(string unit) : ProgressColumn
{
    public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
    {
        double? measured = task.Tag is MeasuredRate r ? r.PerSecond : task.Speed;
        if (measured is not { } speed || task.IsIndeterminate || speed <= 0) return new Text($"… {unit}/s", new Style(Color.Grey));
        string rate = speed >= 10 ? speed.ToString("F0", CultureInfo.InvariantCulture) : speed.ToString("F2", CultureInfo.InvariantCulture);
        return new Text($"{rate} {unit}/s", new Style(Color.Green));
    }
}

/// <summary>"ETA 0:03:12": time left at the current rate, blank until there is a rate.</summary>
internal sealed class EtaColumn : ProgressColumn
{
    public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
    {
        if (task.IsFinished) return new Text($"took {Format(task.ElapsedTime ?? TimeSpan.Zero)}", new Style(Color.Grey));
        TimeSpan? remaining = task.Tag is MeasuredRate { PerSecond: > 0 } r ? TimeSpan.FromSeconds((task.MaxValue - task.Value) / r.PerSecond) : task.RemainingTime;
        return remaining is { } left && !task.IsIndeterminate
            ? new Text($"ETA {Format(left)}", new Style(Color.Yellow))
            : new Text("ETA …", new Style(Color.Grey));
    }

    static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
}
