using System.Diagnostics;
using System.Globalization;
using DinoSharp.Training;
using Spectre.Console;

namespace DinoSharp.Cli;

/// <summary>
/// Training progress as a Spectre progress bar (interactive terminal: step count, rate and ETA columns) or plain log
/// lines (anything else: the same figures in words). Progress through the data is shown as passes over the dataset,
/// not the schedule's "epochs" (a 10-minute run covers a few passes but the whole schedule).
/// </summary>
/// <param name="task">The bar's task, or null for plain lines.</param>
/// <param name="quiet">Print only warnings.</param>
/// <param name="imagesPerPass">Images in the dataset (null when unknown: passes are then not shown).</param>
/// <param name="batchSize">Images per step over all ranks.</param>
internal sealed class ConsoleTrainingProgress(ProgressTask? task, bool quiet, long? imagesPerPass, int batchSize) : ITrainingProgress
{
    readonly Stopwatch clock = new();
    long startStep;
    readonly List<string> deferred = [];
    readonly Lock gate = new();

    public void Started(long startStep, long totalSteps)
    {
        this.startStep = startStep;
        clock.Restart();
        if (task is null) return;
        task.IsIndeterminate = false;
        task.MaxValue = totalSteps;
        task.Value = startStep;
        task.Description = startStep > 0 ? $"resumed at step {startStep}" : "training";
    }

    string Passes(long step) => imagesPerPass is > 0 and var n
        ? string.Create(CultureInfo.InvariantCulture, $" pass {(double)step * batchSize / n:F2}")
        : "";

    public void Step(StepMetrics m, long totalSteps)
    {
        string knn = m.KnnTop1 is { } k ? $" kNN@20 {k.ToString("P1", CultureInfo.InvariantCulture)}" : "";
        if (task is not null)
        {
            task.MaxValue = totalSteps;   // a --minutes run may re-plan its length after its first steps
            task.Value = m.Step;
            if (clock.Elapsed.TotalSeconds > 0 && m.Step > startStep) task.Tag = new MeasuredRate((m.Step - startStep) / clock.Elapsed.TotalSeconds);
            task.Description = string.Create(CultureInfo.InvariantCulture, $"loss {m.TotalLoss:F3}{knn}{Passes(m.Step)}");
        }
        else if (!quiet)
        {
            double seconds = clock.Elapsed.TotalSeconds;
            double rate = seconds > 0 ? (m.Step - startStep) / seconds : 0;
            string eta = rate > 0 ? " ETA " + Eta(TimeSpan.FromSeconds((totalSteps - m.Step) / rate)) : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {m.Step}/{totalSteps} {rate:F2} steps/s{eta}{Passes(m.Step)} loss {m.TotalLoss:F4} (dino {m.DinoLocalLoss + m.DinoGlobalLoss:F4} ibot {m.IbotLoss:F4} koleo {m.KoleoLoss:F4}) lr {m.Lr:E2} H {m.TeacherEntropy:F3} {m.ImagesPerSecond:F0} img/s{knn}"));
        }
    }

    static string Eta(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";

    public void Message(string text)
    {
        if (quiet) return;
        if (task is not null) Messages.AboveLiveDisplay(text, "");
        else Console.WriteLine(text);
    }

    public void Warning(string text)
    {
        if (task is not null) Messages.AboveLiveDisplay(Messages.AsWarning(text)["warning: ".Length..], "[yellow]warning:[/] ");
        else Messages.Warning(text);
    }

    /// <summary>
    /// A stop was asked for (from a signal handler's thread). Under the live bar the line would be torn by the next
    /// redraw, so the bar says it and the whole line is printed once the bar is gone (<see cref="Flush"/>).
    /// </summary>
    public void Interrupting(string text)
    {
        if (task is null)
        {
            Console.Error.WriteLine(text);
            return;
        }
        lock (gate) deferred.Add(text);
        task.Description = "stopping after this step";
    }

    /// <summary>Prints what waited for the live bar to end.</summary>
    public void Flush()
    {
        lock (gate)
        {
            foreach (var line in deferred) Console.Error.WriteLine(line);
            deferred.Clear();
        }
    }
}
