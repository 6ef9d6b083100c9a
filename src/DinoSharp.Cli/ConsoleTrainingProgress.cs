using System.Globalization;
using DinoSharp.Training;
using Spectre.Console;

namespace DinoSharp.Cli;

/// <summary>Training progress as a Spectre progress bar (interactive terminal) or plain log lines (anything else).</summary>
internal sealed class ConsoleTrainingProgress(ProgressTask? task, bool quiet) : ITrainingProgress
{
    public void Started(long startStep, long totalSteps)
    {
        if (task is null) return;
        task.MaxValue = totalSteps;
        task.Value = startStep;
    }

    public void Step(StepMetrics m, long totalSteps)
    {
        string knn = m.KnnTop1 is { } k ? $" kNN@20 {k.ToString("P1", CultureInfo.InvariantCulture)}" : "";
        if (task is not null)
        {
            task.MaxValue = totalSteps;   // a --minutes run may re-plan its length after its first steps
            task.Value = m.Step;
            task.Description = $"loss {m.TotalLoss:F3}{knn} H {m.TeacherEntropy:F2}";
        }
        else if (!quiet)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {m.Step}/{totalSteps} epoch {m.Epoch:F2} loss {m.TotalLoss:F4} (dino {m.DinoLocalLoss + m.DinoGlobalLoss:F4} ibot {m.IbotLoss:F4} koleo {m.KoleoLoss:F4}) lr {m.Lr:E2} H {m.TeacherEntropy:F3} {m.ImagesPerSecond:F0} img/s{knn}"));
        }
    }

    public void Message(string text)
    {
        if (quiet) return;
        if (task is not null) AnsiConsole.MarkupLine(Markup.Escape(text));
        else Console.WriteLine(text);
    }

    public void Warning(string text)
    {
        if (task is not null) AnsiConsole.MarkupLine("[yellow]warning:[/] " + Markup.Escape(Messages.AsWarning(text)["warning: ".Length..]));
        else Messages.Warning(text);
    }
}
