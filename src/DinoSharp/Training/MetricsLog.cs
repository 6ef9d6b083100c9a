using System.Text.Json;

namespace DinoSharp.Training;

/// <summary>One line of metrics.jsonl: every loss term, the schedules, and the collapse signals of a logged step.</summary>
public sealed record StepMetrics
{
    /// <summary>Steps completed when the line was written (0 for the untrained kNN line).</summary>
    public long Step { get; init; }
    /// <summary>Step / iterations per schedule epoch (fractional).</summary>
    public double Epoch { get; init; }
    /// <summary>Wall seconds since this process started the run, including kNN evaluations and checkpoints (restarts at 0 on resume).</summary>
    public double ElapsedSeconds { get; init; }
    /// <summary>The back-propagated loss of this step: the sum of the four weighted terms below, plus <see cref="GramLossWeight"/> × <see cref="GramLoss"/>.</summary>
    public double TotalLoss { get; init; }
    /// <summary>Weighted DINO cross-entropy of the student's local crops against the teacher's global targets.</summary>
    public double DinoLocalLoss { get; init; }
    /// <summary>Weighted DINO cross-entropy between the two global crops (each against the other's teacher target).</summary>
    public double DinoGlobalLoss { get; init; }
    /// <summary>Weighted KoLeo term on the student's global cls tokens (negative values are normal).</summary>
    public double KoleoLoss { get; init; }
    /// <summary>Weighted iBOT cross-entropy on the masked patch tokens.</summary>
    public double IbotLoss { get; init; }
    /// <summary>DINOv3's Gram anchoring loss (unweighted, as the reference logs gram_loss); null when gram.use_loss is off, 0 before the Gram teacher exists.</summary>
    public double? GramLoss { get; init; }
    /// <summary>The weight <see cref="GramLoss"/> entered the total with (gram.loss_weight, 0 before the Gram teacher exists); null when gram.use_loss is off.</summary>
    public double? GramLossWeight { get; init; }
    /// <summary>Scheduled learning rate of this step before the per-group multipliers (layer decay, patch embedding).</summary>
    public double Lr { get; init; }
    /// <summary>Scheduled weight decay of this step before the per-group multipliers.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Teacher EMA momentum used in this step.</summary>
    public double Momentum { get; init; }
    /// <summary>Teacher softmax temperature used in this step.</summary>
    public double TeacherTemp { get; init; }
    /// <summary>Total L2 norm of the student's gradients before clipping (over backbone and heads).</summary>
    public double GradNorm { get; init; }
    /// <summary>Training throughput since the previous logged line.</summary>
    public double ImagesPerSecond { get; init; }
    /// <summary>Mean entropy of the teacher's cls target distributions (nats); near 0 = collapse to one prototype.</summary>
    public double TeacherEntropy { get; init; }
    /// <summary>‖center‖ of the DINO loss; growing without bound together with falling entropy signals collapse.</summary>
    public double CenterNorm { get; init; }
    /// <summary>Online kNN top-1 (k = 20) of the teacher's cls features, when measured at this step.</summary>
    public double? KnnTop1 { get; init; }
    /// <summary>Seconds spent waiting for the data loader since the previous logged line.</summary>
    public double DataWaitSeconds { get; init; }
    /// <summary>
    /// Data-parallel runs: seconds rank 0 spent since the previous line in the step's all-reduces of loss terms and
    /// gradients, waiting for the slowest rank included; null for one process.
    /// </summary>
    public double? SyncSeconds { get; init; }
}

/// <summary>Appends <see cref="StepMetrics"/> as JSON lines, flushed per line so a killed run keeps its log.</summary>
public sealed class MetricsLog : IDisposable
{
    static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    readonly StreamWriter writer;

    /// <summary>Opens <paramref name="path"/> for writing.</summary>
    /// <param name="path">The metrics.jsonl file.</param>
    /// <param name="append">Continue an existing log (resume) instead of replacing it.</param>
    public MetricsLog(string path, bool append)
    {
        writer = new StreamWriter(path, append) { AutoFlush = true };
    }

    /// <summary>Appends <paramref name="m"/> as one snake_case JSON line (null fields omitted) and flushes it.</summary>
    public void Write(StepMetrics m) => writer.WriteLine(JsonSerializer.Serialize(m, Options));

    /// <summary>Every line of a metrics.jsonl, in file order (blank lines skipped).</summary>
    /// <exception cref="JsonException">A line is not valid JSON (e.g. torn by a kill; <see cref="TruncateAfter"/> removes such a line).</exception>
    public static List<StepMetrics> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<StepMetrics>(l, Options)!).ToList();

    /// <summary>
    /// Drops lines of steps after <paramref name="step"/> (a resumed run rewrites them), and a line torn by a kill in
    /// the middle of writing it. The shortened log is written beside the old one and renamed over it.
    /// </summary>
    public static void TruncateAfter(string path, long step)
    {
        if (!File.Exists(path)) return;
        var keep = File.ReadLines(path).Where(l => TryParse(l) is { } m && m.Step <= step).ToList();
        string tmp = path + ".tmp";
        File.WriteAllLines(tmp, keep);
        File.Move(tmp, path, overwrite: true);
    }

    static StepMetrics? TryParse(string line)
    {
        if (line.Length == 0) return null;
        try { return JsonSerializer.Deserialize<StepMetrics>(line, Options); }
        catch (JsonException) { return null; }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => writer.Dispose();
}
