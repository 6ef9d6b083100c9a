using System.Text.RegularExpressions;
using DinoSharp.Cli;
using DinoSharp.Tests.Reliability;

namespace DinoSharp.Tests.Cli;

/// <summary>Progress as people read it, in the plain lines a log gets (the live bars are in docs/cli-transcript.md).</summary>
public sealed class CliProgressTests
{
    [Fact]
    public void Training_lines_show_the_step_count_rate_eta_and_passes_over_the_data()
    {
        string dir = TinyRun.NewFolder("progress");
        var args = TinyRun.Args(dir);
        args.Remove("--quiet");
        var (code, stdout, stderr) = DinoCli.Run(args);
        Assert.True(code == 0, stderr);
        var last = stdout.Split('\n').Last(l => l.StartsWith("step ", StringComparison.Ordinal));
        // 12 steps of 16 images over the 96-image dataset: 2 passes (the schedule counts 2 "epochs" of its own too,
        // but a --minutes run's schedule epochs are not passes over the data).
        Assert.Matches(new Regex(@"^step 12/12 \d+\.\d\d steps/s ETA 0:00 pass 2\.00 loss "), last);
        Assert.DoesNotContain("warning: warning:", stderr);
    }

    [Fact]
    public void A_warning_is_prefixed_once()
    {
        Assert.Equal("warning: skipping unreadable image a.png", Messages.AsWarning("warning: skipping unreadable image a.png"));
        Assert.Equal("warning: time budget reached", Messages.AsWarning("time budget reached"));
    }

    [Fact]
    public void The_knn_title_names_the_whole_identity_with_its_feature_kind()
    {
        using var files = new DinoSharp.Tests.Data.TestImages();
        var (images, labels) = files.FakeFashion(60);
        string data = $"idx:{images},{labels}";
        var (code, stdout, stderr) = DinoCli.Run(["knn", "--model", "raw:8", "--train", data, "--test", data,
            "--limit-train", "50", "--limit-test", "10", "--k", "5"]);
        Assert.True(code == 0, stderr);
        string text = Regex.Replace(stdout, @"\s+", " ");
        Assert.Contains("kNN of raw (weights none, preprocessing 'resize to 8×8, [0,1] RGB', features 'pixels', fp32)", text);
    }
}
