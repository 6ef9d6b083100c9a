using System.Text.Json;

namespace DinoSharp.Training;

/// <summary>One line of metrics.jsonl: every loss term, the schedules, and the collapse signals of a logged step.</summary>
public sealed record StepMetrics
{
    public long Step { get; init; }
    public double Epoch { get; init; }
    public double ElapsedSeconds { get; init; }
    public double TotalLoss { get; init; }
    public double DinoLocalLoss { get; init; }
    public double DinoGlobalLoss { get; init; }
    public double KoleoLoss { get; init; }
    public double IbotLoss { get; init; }
    public double Lr { get; init; }
    public double WeightDecay { get; init; }
    public double Momentum { get; init; }
    public double TeacherTemp { get; init; }
    public double GradNorm { get; init; }
    public double ImagesPerSecond { get; init; }
    /// <summary>Mean entropy of the teacher's cls target distributions (nats); near 0 = collapse to one prototype.</summary>
    public double TeacherEntropy { get; init; }
    /// <summary>‖center‖ of the DINO loss; growing without bound together with falling entropy signals collapse.</summary>
    public double CenterNorm { get; init; }
    /// <summary>Online kNN top-1 (k = 20) of the teacher's cls features, when measured at this step.</summary>
    public double? KnnTop1 { get; init; }
    public double DataWaitSeconds { get; init; }
}

/// <summary>Appends <see cref="StepMetrics"/> as JSON lines, flushed per line so a killed run keeps its log.</summary>
public sealed class MetricsLog : IDisposable
{
    static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    readonly StreamWriter writer;

    public MetricsLog(string path, bool append)
    {
        writer = new StreamWriter(path, append) { AutoFlush = true };
    }

    public void Write(StepMetrics m) => writer.WriteLine(JsonSerializer.Serialize(m, Options));

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

    public void Dispose() => writer.Dispose();
}
