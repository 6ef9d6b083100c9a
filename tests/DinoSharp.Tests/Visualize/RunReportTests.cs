using System.Text.Json;
using System.Text.RegularExpressions;
using DinoSharp.Training;
using DinoSharp.Visualize;
using ScottPlot;

namespace DinoSharp.Tests.Visualize;

/// <summary>
/// The report's plots, checked on the ScottPlot objects before they are saved: what a reader needs to read a plot
/// (title, labelled axes, a legend naming every series) is asserted here; how the page looks in a browser is checked by
/// scripts/check-report.sh.
/// </summary>
public sealed partial class RunReportTests
{
    static readonly string[] Classes = ["T-shirt/top", "Trouser", "Pullover"];

    static List<StepMetrics> Metrics()
    {
        var list = new List<StepMetrics> { new() { Step = 0, KnnTop1 = 0.60, ElapsedSeconds = 5 } };
        for (int step = 10; step <= 60; step += 10)
            list.Add(new StepMetrics
            {
                Step = step, Epoch = step / 60.0, ElapsedSeconds = 5 + step * 0.5,
                TotalLoss = 10 - step / 10.0, DinoLocalLoss = 4, DinoGlobalLoss = 3, IbotLoss = 3.5, KoleoLoss = -0.2,
                Lr = 1e-3 * step / 60, WeightDecay = 0.04 + step / 600.0, Momentum = 0.994, TeacherTemp = 0.04,
                TeacherEntropy = 4.5, CenterNorm = 0.3, KnnTop1 = step == 60 ? 0.66 : null,
            });
        return list;
    }

    /// <summary>Evaluation files as `dino knn --json` / `dino linear --json` write them, with the fields the report reads.</summary>
    static void WriteEvaluations(string dir)
    {
        Directory.CreateDirectory(dir);
        void Knn(string file, string model, double top20, bool confusion = false)
        {
            var node = new Dictionary<string, object>
            {
                ["model"] = model,
                ["top1"] = new Dictionary<string, double> { ["10"] = top20 + 0.01, ["20"] = top20, ["100"] = top20 - 0.02, ["200"] = top20 - 0.03 },
                ["per_class"] = Classes.ToDictionary(c => c, _ => top20),
            };
            if (confusion)
            {
                node["confusion_matrix"] = new[] { new long[] { 8, 1, 1 }, new long[] { 0, 10, 0 }, new long[] { 2, 0, 8 } };
                node["best_k"] = 10;
            }
            File.WriteAllText(Path.Combine(dir, file), JsonSerializer.Serialize(node));
        }
        Knn("knn_trained.json", "/tmp/runs/a-rather-long-run-folder-name-without-any-spaces-in-it-at-all", 0.79, confusion: true);
        Knn("knn_trained_avgpatch.json", "/tmp/runs/a-rather-long-run-folder-name-without-any-spaces-in-it-at-all", 0.795);
        Knn("knn_raw.json", "raw", 0.846);
        Knn("knn_random.json", "random:/tmp/runs/a-rather-long-run-folder-name-without-any-spaces-in-it-at-all/config.json", 0.673);
        Knn("knn_random_avgpatch.json", "random:/tmp/runs/x/config.json", 0.69);
        File.WriteAllText(Path.Combine(dir, "linear_trained.json"), JsonSerializer.Serialize(new { model = "runs/x", top1 = 0.803 }));
    }

    static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"dinosharp-report-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    static IReadOnlyList<ReportPlot> BuildAll()
    {
        string dir = TempDir();
        try
        {
            WriteEvaluations(dir);
            return RunReport.BuildPlots(Metrics(), RunReport.ReadEvaluations(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Every_plot_has_a_title_and_labelled_axes()
    {
        var plots = BuildAll();
        Assert.Equal(["loss.png", "lr_wd.png", "teacher.png", "collapse.png", "knn.png", "confusion.png"], plots.Select(p => p.File));
        foreach (var p in plots)
        {
            Assert.False(string.IsNullOrWhiteSpace(p.Title), $"{p.File}: no section title");
            Assert.False(string.IsNullOrWhiteSpace(p.Plot.Axes.Title.Label.Text), $"{p.File}: no plot title");
            Assert.False(string.IsNullOrWhiteSpace(p.Plot.Axes.Bottom.Label.Text), $"{p.File}: the x axis has no label");
            Assert.False(string.IsNullOrWhiteSpace(p.Plot.Axes.Left.Label.Text), $"{p.File}: the y axis has no label");
            // A series drawn against the right axis needs that axis labelled too (no axis set means the left one).
            foreach (var x in p.Plot.GetPlottables())
                Assert.False(string.IsNullOrWhiteSpace((x.Axes.YAxis ?? p.Plot.Axes.Left).Label.Text), $"{p.File}: a series is drawn against an unlabelled y axis");
        }
    }

    [Fact]
    public void A_gram_anchored_run_gets_a_gram_plot_with_the_term_and_its_weight()
    {
        var metrics = Metrics().Select(m => m.Step == 0 ? m : m with { GramLoss = m.Step < 30 ? 0 : 0.05 - m.Step / 2000.0, GramLossWeight = m.Step < 30 ? 0 : 1 }).ToList();
        var plots = RunReport.BuildPlots(metrics, []);
        var gram = Assert.Single(plots, p => p.File == "gram.png");
        Assert.Equal("Gram anchoring", gram.Title);
        Assert.Contains("Gram loss", gram.Plot.Axes.Left.Label.Text);
        Assert.Equal(2, gram.Plot.GetPlottables().Count());
        Assert.DoesNotContain(RunReport.BuildPlots(Metrics(), []), p => p.File == "gram.png");
    }

    [Fact]
    public void A_constant_series_gets_an_axis_centred_on_its_value()
    {
        // The metrics hold a fixed teacher temperature of 0.04 (right axis of the teacher plot); ScottPlot alone would
        // span it with [-1, 1].
        var teacher = BuildAll().Single(p => p.File == "teacher.png").Plot;
        teacher.RenderInMemory(900, 450);
        var limits = teacher.Axes.Right.Range;
        Assert.Equal(0.02, limits.Min, 6);
        Assert.Equal(0.06, limits.Max, 6);
    }

    [Fact]
    public void Every_plot_with_several_series_shows_a_legend_naming_each_of_them()
    {
        foreach (var p in BuildAll())
        {
            var items = p.Plot.GetPlottables().SelectMany(x => x.LegendItems).ToList();
            Assert.All(items, i => Assert.False(string.IsNullOrWhiteSpace(i.LabelText), $"{p.File}: a series without a legend name"));
            if (items.Count > 1)
                Assert.True(p.Plot.Axes.GetPanels().OfType<ScottPlot.Panels.LegendPanel>().Any(l => l.IsVisible) || p.Plot.Legend.IsVisible,
                    $"{p.File}: {items.Count} series but no legend");
        }
    }

    [Fact]
    public void The_confusion_matrix_names_the_classes_and_labels_its_colour_scale()
    {
        var plot = BuildAll().Single(p => p.File == "confusion.png");
        var confusion = plot.Plot;
        confusion.RenderInMemory(plot.Width, plot.Height);   // manual ticks are laid out by a render
        var bar = Assert.Single(confusion.Axes.GetPanels().OfType<ScottPlot.Panels.ColorBar>());
        Assert.False(string.IsNullOrWhiteSpace(bar.Label), "the colour bar has no label");
        var names = confusion.Axes.Bottom.TickGenerator.Ticks.Select(t => t.Label).ToList();
        Assert.Equal(Classes, names);
        Assert.Contains("k = 10", confusion.Axes.Title.Label.Text);   // the best k, where `dino knn` takes the matrix
    }

    [Fact]
    public void The_knn_plot_draws_every_baseline_that_has_a_result()
    {
        var knn = BuildAll().Single(p => p.File == "knn.png").Plot;
        var names = knn.GetPlottables().SelectMany(x => x.LegendItems).Select(i => i.LabelText).ToList();
        Assert.Equal(5, names.Count);   // the online curve, raw pixels, two untrained baselines, the trained teacher
        Assert.Contains(names, n => n.StartsWith("raw pixels", StringComparison.Ordinal) && n.Contains("84.6", StringComparison.Ordinal));
    }

    [Fact]
    public void Write_makes_one_self_contained_page_with_every_plot_embedded()
    {
        string run = TempDir();
        try
        {
            using (var log = new MetricsLog(Path.Combine(run, "metrics.jsonl"), append: false))
                foreach (var m in Metrics()) log.Write(m);
            File.WriteAllText(Path.Combine(run, "config.json"), TrainingConfigLoader.ToJson(DefaultConfigs.FashionMnistCpu));
            WriteEvaluations(Path.Combine(run, "eval"));

            string html = File.ReadAllText(RunReport.Write(run));

            var images = ImageTag().Matches(html).Select(m => (Alt: m.Groups[1].Value, Png: Convert.FromBase64String(m.Groups[2].Value))).ToList();
            Assert.Equal(6, images.Count);
            foreach (var (alt, png) in images)
            {
                Assert.Contains($"<h2>{alt}</h2>", html);
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            }
            Assert.Equal(6, Directory.GetFiles(Path.Combine(run, "report"), "*.png").Length);
            // Self-contained: nothing is fetched from anywhere else.
            Assert.DoesNotMatch(@"(src|href)=""(?!data:)", html);
            Assert.Contains("linear probe", html);
            Assert.Contains("crops.global_crops_size", html);
        }
        finally
        {
            Directory.Delete(run, true);
        }
    }

    [Fact]
    public void Logged_steps_below_the_collapse_threshold_are_a_warning_on_the_page()
    {
        string run = TempDir();
        try
        {
            var metrics = Metrics();
            using (var log = new MetricsLog(Path.Combine(run, "metrics.jsonl"), append: false))
                foreach (var m in metrics) log.Write(m);
            File.WriteAllText(Path.Combine(run, "config.json"), TrainingConfigLoader.ToJson(DefaultConfigs.FashionMnistCpu));
            Assert.Null(RunReport.CollapseWarning(run, metrics));
            Assert.DoesNotContain("may have collapsed", File.ReadAllText(RunReport.Write(run)));

            // Default threshold: 2 % of log 256 = 0.111 nats; steps 40 and 50 fall below it.
            var collapsing = metrics.Select(m => m.Step is 40 or 50 ? m with { TeacherEntropy = 0.05 } : m).ToList();
            using (var log = new MetricsLog(Path.Combine(run, "metrics.jsonl"), append: false))
                foreach (var m in collapsing) log.Write(m);
            string? warning = RunReport.CollapseWarning(run, collapsing);
            Assert.NotNull(warning);
            Assert.Contains("at 2 logged step(s), first at step 40 (0.050 nats", warning);
            Assert.Contains("0.111 nats", warning);
            Assert.Contains("may have collapsed", File.ReadAllText(RunReport.Write(run)));
        }
        finally
        {
            Directory.Delete(run, true);
        }
    }

    [GeneratedRegex(@"<img alt=""([^""]*)"" src=""data:image/png;base64,([A-Za-z0-9+/=]+)""")]
    private static partial Regex ImageTag();
}
