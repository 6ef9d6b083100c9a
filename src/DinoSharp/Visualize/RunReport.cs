using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DinoSharp.Training;
using ScottPlot;
using SkiaSharp;

namespace DinoSharp.Visualize;

/// <summary>An evaluation result file written by `dino knn` / `dino linear --json` (only the fields the report reads).</summary>
/// <param name="File">The JSON file name (e.g. knn_trained.json), which the report uses to tell runs and baselines apart.</param>
/// <param name="Model">The model string the evaluation ran on.</param>
/// <param name="Top1">Top-1 accuracy in [0, 1] per k ("10", "20", …), or under "probe" for a linear probe.</param>
/// <param name="ConfusionMatrix">[C][C] counts, row = true class, column = predicted class, when the file has one.</param>
/// <param name="Classes">Class names in label order (empty when the file names none).</param>
/// <param name="BestK">The k with the best top-1, at which `dino knn` computes the confusion matrix; null when not given.</param>
public sealed record EvaluationSummary(string File, string Model, IReadOnlyDictionary<string, double> Top1, long[][]? ConfusionMatrix, IReadOnlyList<string> Classes,
    int? BestK = null);

/// <summary>
/// `dino report`: one self-contained HTML page (PNG plots embedded as data URIs) plus the PNGs, from a run folder's
/// metrics.jsonl, config.json and the evaluation JSON files in its eval/ folder.
/// </summary>
public static class RunReport
{
    /// <summary>Writes the report of <paramref name="runDir"/>: one self-contained HTML page (written under a temporary name, then renamed; its folder is created) and, when it goes to the default place, the PNG plots into <c>&lt;run&gt;/report/</c>; a report written elsewhere does not touch the run folder.</summary>
    /// <param name="runDir">A run folder made by <c>dino train</c>; evaluation JSON files (<c>dino knn</c>/<c>dino linear --json</c>) are read from its eval/ folder, and search.png, pca.png and attention.png from report/ are embedded when present.</param>
    /// <param name="outFile">The HTML file; null: <c>&lt;run&gt;/report.html</c>.</param>
    /// <returns>The path of the HTML file written.</returns>
    /// <exception cref="FileNotFoundException">The folder has no metrics.jsonl.</exception>
    public static string Write(string runDir, string? outFile = null)
    {
        string metricsPath = Path.Combine(runDir, "metrics.jsonl");
        if (!File.Exists(metricsPath)) throw new FileNotFoundException($"{runDir}: no metrics.jsonl; is this a run folder made by `dino train`?");
        var metrics = MetricsLog.Read(metricsPath);
        var evals = ReadEvaluations(Path.Combine(runDir, "eval"));
        // The page embeds its plots, so a report written elsewhere leaves the run folder as it was: its plots are drawn
        // in a temporary folder instead of <run>/report/.
        string runPlots = Path.Combine(runDir, "report");
        string plots = outFile is null ? runPlots : Directory.CreateTempSubdirectory("dino-report-").FullName;
        try
        {
            Directory.CreateDirectory(plots);
            var images = new List<(string Title, string Path)>();
            foreach (var plot in BuildPlots(metrics, evals))
            {
                plot.Plot.SavePng(Path.Combine(plots, plot.File), plot.Width, plot.Height);
                images.Add((plot.Title, Path.Combine(plots, plot.File)));
            }
            foreach (var extra in new[] { "search.png", "pca.png", "attention.png" })
                if (File.Exists(Path.Combine(runPlots, extra)))
                    images.Add((extra switch { "search.png" => "Search contact sheet", "pca.png" => "Patch-feature PCA", _ => "Attention maps" }, Path.Combine(runPlots, extra)));

            string html = Html(runDir, metrics, evals, images);
            string output = outFile ?? Path.Combine(runDir, "report.html");
            string? folder = Path.GetDirectoryName(Path.GetFullPath(output));
            if (folder is not null) Directory.CreateDirectory(folder);
            string tmp = output + ".tmp";
            File.WriteAllText(tmp, html);
            File.Move(tmp, output, overwrite: true);
            return output;
        }
        finally
        {
            if (plots != runPlots) Directory.Delete(plots, recursive: true);
        }
    }

    /// <summary>The report's plots, built but not saved: losses, schedules, collapse signals (when steps were logged),
    /// online kNN against the baselines (when measured) and the confusion matrix (when a knn_trained*.json has one).</summary>
    internal static IReadOnlyList<ReportPlot> BuildPlots(IReadOnlyList<StepMetrics> metrics, IReadOnlyList<EvaluationSummary> evals)
    {
        var steps = metrics.Where(m => m.TotalLoss != 0 || m.Lr != 0).ToList();
        var result = new List<ReportPlot>();
        if (steps.Count > 0)
        {
            result.Add(new("Loss terms", "loss.png", Lines("Loss terms over training", steps, "loss",
                [("total", m => m.TotalLoss), ("DINO local", m => m.DinoLocalLoss), ("DINO global", m => m.DinoGlobalLoss),
                 ("iBOT", m => m.IbotLoss), ("KoLeo", m => m.KoleoLoss)]), 900, 450));
            if (steps.Any(m => m.GramLoss is not null))
                result.Add(new("Gram anchoring", "gram.png", Lines("Gram anchoring (DINOv3)", steps,
                    "Gram loss (unweighted)", [("Gram loss", m => m.GramLoss ?? 0)], "weight in the total", [("gram.loss_weight", m => m.GramLossWeight ?? 0)]), 900, 450));
            result.Add(new("Learning rate and weight decay", "lr_wd.png", Lines("Learning rate and weight decay", steps,
                "learning rate", [("learning rate", m => m.Lr)], "weight decay", [("weight decay", m => m.WeightDecay)]), 900, 450));
            result.Add(new("Teacher momentum and temperature", "teacher.png", Lines("Teacher EMA momentum and temperature", steps,
                "EMA momentum", [("momentum", m => m.Momentum)], "teacher temperature", [("temperature", m => m.TeacherTemp)]), 900, 450));
            result.Add(new("Collapse signals", "collapse.png", Lines("Collapse signals", steps,
                "teacher entropy (nats)", [("teacher entropy", m => m.TeacherEntropy)], "center norm", [("center norm", m => m.CenterNorm)]), 900, 450));
        }
        var knn = metrics.Where(m => m.KnnTop1 is not null).ToList();
        if (knn.Count > 0)
            result.Add(new("Online kNN", "knn.png", KnnCurve(knn, evals), 900, 520));   // taller: the legend below takes ~120 px
        var trained = evals.FirstOrDefault(e => e.File.StartsWith("knn_trained", StringComparison.Ordinal) && e.ConfusionMatrix is not null);
        if (trained is not null)
            result.Add(new("Confusion matrix", "confusion.png", Confusion(trained), 800, 700));
        return result;
    }

    /// <summary>
    /// The trainer's collapse test (<see cref="TrainConfig.CollapseEntropyFraction"/> of log K, K and the fraction from the
    /// run's config.json, defaults when it is missing) over the logged steps: a sentence naming how many logged steps
    /// were below it and the first, or null when none was.
    /// </summary>
    internal static string? CollapseWarning(string runDir, IReadOnlyList<StepMetrics> metrics)
    {
        var configPath = Path.Combine(runDir, "config.json");
        DinoTrainingConfig config;
        try { config = File.Exists(configPath) ? TrainingConfigLoader.Resolve(configPath) : new DinoTrainingConfig(); }
        catch (ConfigException) { config = new DinoTrainingConfig(); }
        double threshold = config.Train.CollapseEntropyThreshold(config.Dino.HeadNPrototypes);
        var low = metrics.Where(m => (m.TotalLoss != 0 || m.Lr != 0) && m.TeacherEntropy < threshold).ToList();
        if (low.Count == 0) return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"the teacher entropy was below {config.Train.CollapseEntropyFraction:P0} of log K ({threshold:F3} nats) at {low.Count} logged step(s), first at step {low[0].Step} ({low[0].TeacherEntropy:F3} nats, center norm {low[0].CenterNorm:F3}): the representation may have collapsed to a few prototypes.");
    }

    /// <summary>
    /// Lines against the training step. Quantities of different size get their own y axis (<paramref name="rightLabel"/>,
    /// <paramref name="right"/>), each labelled with what it shows, rather than one rescaled to fit the other.
    /// </summary>
    static Plot Lines(string title, List<StepMetrics> steps, string leftLabel, (string Name, Func<StepMetrics, double> Value)[] left,
        string? rightLabel = null, (string Name, Func<StepMetrics, double> Value)[]? right = null)
    {
        var plt = NewPlot();
        var xs = steps.Select(m => (double)m.Step).ToArray();
        foreach (var (series, onRight) in left.Select(s => (s, false)).Concat((right ?? []).Select(s => (s, true))))
        {
            var s = plt.Add.Scatter(xs, steps.Select(series.Value).ToArray());
            s.LegendText = right is null ? series.Name : series.Name + (onRight ? " (right axis)" : " (left axis)");
            s.MarkerSize = 0;
            s.LineWidth = 2;
            if (onRight) s.Axes.YAxis = plt.Axes.Right;
        }
        // A constant series (e.g. a fixed teacher temperature) would get ScottPlot's default ±1 span around it, which
        // hides its value among ticks far from it: centre such an axis on the value with a ±50 % span.
        foreach (var (series, axis) in new[] { (left, plt.Axes.Left), (right, plt.Axes.Right) })
        {
            if (series is null) continue;
            var values = series.SelectMany(v => steps.Select(v.Value)).ToList();
            if (values.Count == 0 || values.Max() != values.Min()) continue;
            double v = values[0], half = Math.Abs(v) > 0 ? Math.Abs(v) / 2 : 1;
            plt.Axes.SetLimitsY(v - half, v + half, axis);
        }
        plt.Title(title);
        plt.XLabel("step");
        plt.YLabel(leftLabel);
        if (rightLabel is not null) plt.Axes.Right.Label.Text = rightLabel;
        plt.ShowLegend(Edge.Right);   // outside the data area: never hides a line
        return plt;
    }

    /// <summary>ScottPlot draws with Skia's default face, a serif on Debian; the page around the plots is sans-serif.</summary>
    static readonly string? SansFont = new[] { "DejaVu Sans", "Liberation Sans", "Noto Sans", "Open Sans", "Arial", "Helvetica" }
        .FirstOrDefault(f => SKFontManager.Default.FontFamilies.Contains(f, StringComparer.OrdinalIgnoreCase));

    static Plot NewPlot()
    {
        var plt = new Plot();
        if (SansFont is not null) plt.Font.Set(SansFont);
        return plt;
    }

    static Plot KnnCurve(List<StepMetrics> knn, IReadOnlyList<EvaluationSummary> evals)
    {
        var plt = NewPlot();
        var xs = knn.Select(m => m.ElapsedSeconds / 60).ToArray();
        var s = plt.Add.Scatter(xs, knn.Select(m => m.KnnTop1!.Value * 100).ToArray());
        s.LegendText = "trained teacher, online kNN@20 (subset)";
        s.LineWidth = 2;
        foreach (var (file, label) in new[] { ("knn_raw.json", "raw pixels (full test set)"), ("knn_random.json", "untrained network, cls"), ("knn_random_avgpatch.json", "untrained network, avg patch"), ("knn_trained.json", "trained teacher (full test set)") })
        {
            var e = evals.FirstOrDefault(x => x.File == file);
            if (e is null || !e.Top1.TryGetValue("20", out var v)) continue;
            var line = plt.Add.HorizontalLine(v * 100);
            line.LegendText = $"{label}: {v:P1}";
            line.LinePattern = LinePattern.Dashed;
        }
        plt.Title("kNN top-1 (k = 20) against training time");
        plt.XLabel("training time (minutes)");
        plt.YLabel("top-1 accuracy (%)");
        plt.ShowLegend(Edge.Bottom);
        return plt;
    }

    static Plot Confusion(EvaluationSummary e)
    {
        var m = e.ConfusionMatrix!;
        int n = m.Length;
        var data = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            double rowSum = Math.Max(1, m[i].Sum());
            for (int j = 0; j < n; j++) data[i, j] = m[i][j] / rowSum;   // ScottPlot draws row 0 at the top
        }
        var plt = NewPlot();
        var hm = plt.Add.Heatmap(data);
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        plt.Axes.Margins(0, 0);   // the frame around the cells, no empty band
        var bar = plt.Add.ColorBar(hm);
        bar.Label = "fraction of the true class";
        var ticks = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        var names = e.Classes.Count == n ? e.Classes.ToArray() : Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        plt.Axes.Bottom.SetTicks(ticks, names);
        plt.Axes.Left.SetTicks(ticks, names.Reverse().ToArray());
        plt.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plt.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plt.Title(e.BestK is int k ? $"kNN confusion matrix (k = {k}, the best k)" : "kNN confusion matrix");
        // Room below for the rotated class names, so they do not run into the axis title.
        plt.Layout.Fixed(new PixelPadding(110, 130, 120, 40));
        plt.XLabel("predicted class");
        plt.Axes.Bottom.Label.OffsetY = 60;   // below the rotated names, which the layout does not measure as rotated
        plt.YLabel("true class");
        return plt;
    }

    /// <summary>The evaluation JSON files of <paramref name="dir"/> in ordinal file-name order (none when the folder does not exist). kNN files give top-1 per k; linear-probe files give one "probe" entry.</summary>
    public static IReadOnlyList<EvaluationSummary> ReadEvaluations(string dir)
    {
        if (!Directory.Exists(dir)) return [];
        var list = new List<EvaluationSummary>();
        foreach (var file in Directory.GetFiles(dir, "*.json").Order())
        {
            var node = JsonNode.Parse(File.ReadAllText(file)) as JsonObject;
            if (node is null) continue;
            var top1 = new Dictionary<string, double>();
            if (node["top1"] is JsonObject perK)
                foreach (var (k, v) in perK) top1[k] = v!.GetValue<double>();
            else if (node["top1"] is JsonValue single)
                top1["probe"] = single.GetValue<double>();
            long[][]? confusion = node["confusion_matrix"]?.Deserialize<long[][]>();
            var classes = node["per_class"] is JsonObject pc ? pc.Select(kv => kv.Key).ToList() : [];
            int? bestK = node["best_k"] is JsonValue b ? b.GetValue<int>() : null;
            list.Add(new EvaluationSummary(Path.GetFileName(file), node["model"]?.GetValue<string>() ?? "?", top1, confusion, classes, bestK));
        }
        return list;
    }

    static string Html(string runDir, List<StepMetrics> metrics, IReadOnlyList<EvaluationSummary> evals, List<(string Title, string Path)> images)
    {
        var sb = new StringBuilder();
        string name = Path.GetFileName(Path.GetFullPath(runDir));
        sb.Append($$"""
            <!doctype html><html><head><meta charset="utf-8"><title>DinoSharp run {{E(name)}}</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; padding: 0 1em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
            th { background: #f3f3f3; } img { max-width: 100%; height: auto; border: 1px solid #eee; } code { font-size: 90%; }
            td.f { white-space: nowrap; } td.n { white-space: nowrap; text-align: right; } td.w, .cfg td { overflow-wrap: anywhere; }
            .cfg { columns: 2; column-gap: 2em; font-size: 85%; } .cfg table { width: 100%; margin: 0 0 1em; break-inside: avoid; }
            </style></head><body>
            <h1>DinoSharp run <code>{{E(name)}}</code></h1>
            """);
        var last = metrics.LastOrDefault(m => m.TotalLoss != 0);
        var lastKnn = metrics.LastOrDefault(m => m.KnnTop1 is not null);
        sb.Append("<p>");
        if (last is not null)
            sb.Append(CultureInfo.InvariantCulture, $"{last.Step} steps in {last.ElapsedSeconds / 60:F1} minutes; final loss {last.TotalLoss:F4}, teacher entropy {last.TeacherEntropy:F3} nats. ");
        if (lastKnn is not null)
            sb.Append(CultureInfo.InvariantCulture, $"Last online kNN@20 (subset): {lastKnn.KnnTop1:P1}.");
        sb.Append("</p>");
        if (CollapseWarning(runDir, metrics) is { } warning)
            sb.Append($"<p style=\"color:#a00\"><b>Warning:</b> {E(warning)}</p>");
        if (evals.Count > 0)
        {
            sb.Append("<h2>Evaluation on the full test split</h2><table><tr><th>file</th><th>model</th>");
            var keys = evals.SelectMany(e => e.Top1.Keys).Distinct().OrderBy(k => k == "probe" ? 1000 : int.Parse(k, CultureInfo.InvariantCulture)).ToList();
            foreach (var k in keys) sb.Append($"<th>{(k == "probe" ? "linear probe" : "kNN k=" + k)}</th>");
            sb.Append("</tr>");
            foreach (var e in evals)
            {
                sb.Append($"<tr><td class=\"f\">{E(e.File)}</td><td class=\"w\">{E(e.Model)}</td>");
                foreach (var k in keys) sb.Append(e.Top1.TryGetValue(k, out var v) ? string.Create(CultureInfo.InvariantCulture, $"<td class=\"n\">{v:P2}</td>") : "<td></td>");
                sb.Append("</tr>");
            }
            sb.Append("</table>");
        }
        foreach (var (title, path) in images)
        {
            sb.Append($"<h2>{E(title)}</h2><img alt=\"{E(title)}\" src=\"data:image/png;base64,");
            sb.Append(Convert.ToBase64String(File.ReadAllBytes(path)));
            sb.Append("\">");
        }
        var configPath = Path.Combine(runDir, "config.json");
        if (File.Exists(configPath))
        {
            // One table per section, in two columns: one table of ~70 rows would be a long narrow strip.
            sb.Append("<h2>Configuration</h2><div class=\"cfg\">");
            foreach (var section in Flatten(JsonNode.Parse(File.ReadAllText(configPath))!, "").GroupBy(kv => kv.Item1.Split('.')[0]))
            {
                sb.Append($"<table><tr><th>{E(section.Key)}</th><th>value</th></tr>");
                foreach (var (key, value) in section)
                    sb.Append($"<tr><td>{E(key)}</td><td>{E(value)}</td></tr>");
                sb.Append("</table>");
            }
            sb.Append("</div>");
        }
        sb.Append("</body></html>");
        return sb.ToString();
    }

    static IEnumerable<(string, string)> Flatten(JsonNode node, string prefix)
    {
        if (node is JsonObject obj)
        {
            foreach (var (k, v) in obj)
                foreach (var x in v is null ? [(prefix + k, "null")] : Flatten(v, prefix + k + "."))
                    yield return x;
        }
        else yield return (prefix.TrimEnd('.'), node.ToJsonString());
    }

    static string E(string s) => WebUtility.HtmlEncode(s);
}

/// <summary>One plot of the report before it is saved: section title, PNG file name, the plot and its size in pixels.</summary>
internal sealed record ReportPlot(string Title, string File, Plot Plot, int Width, int Height);
