using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DinoSharp.Cli;

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
        if (task.Speed is not { } speed || task.IsIndeterminate || speed <= 0) return new Text($"… {unit}/s", new Style(Color.Grey));
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
        return task.RemainingTime is { } left && !task.IsIndeterminate
            ? new Text($"ETA {Format(left)}", new Style(Color.Yellow))
            : new Text("ETA …", new Style(Color.Grey));
    }

    static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
}
