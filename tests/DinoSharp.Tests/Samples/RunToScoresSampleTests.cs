using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DinoSharp.Tests.Fixtures;
using DinoSharp.Tests.Reliability;

namespace DinoSharp.Tests.Samples;

/// <summary>
/// samples/RunToScores — a run folder to kNN and linear-probe accuracies through the library alone — gives the numbers
/// of `dino knn` and `dino linear` on the same run folder and data, to the last digit.
/// </summary>
public sealed class RunToScoresSampleTests
{
    const string Train = "fashion-mnist:train", Test = "fashion-mnist:test", LimitTrain = "300", LimitTest = "100";

    [SkippableFact]
    public void TheSamplesNumbersAreTheCommandLinesJson()
    {
        Requires.FashionMnist();
        string run = TinyRun.Baseline;   // 12 steps of a pico ViT, trained by `dino train`
        string folder = TinyRun.NewFolder("sample");
        string knnJson = Path.Combine(folder, "knn.json"), linearJson = Path.Combine(folder, "linear.json");
        foreach (var (verb, json) in new[] { ("knn", knnJson), ("linear", linearJson) })
        {
            var (code, stdout, stderr) = DinoCli.Run([verb, "--model", run, "--train", Train, "--test", Test,
                "--limit-train", LimitTrain, "--limit-test", LimitTest, "--threads", "1", "--quiet", "--json", json], TimeSpan.FromMinutes(3));
            Assert.True(code == 0, $"dino {verb}: {stdout} {stderr}");
        }
        using var knn = JsonDocument.Parse(File.ReadAllText(knnJson));
        using var linear = JsonDocument.Parse(File.ReadAllText(linearJson));

        var lines = RunSample(run, Train, Test, LimitTrain, LimitTest);
        var expected = knn.RootElement.GetProperty("top1").EnumerateObject()
            .Select(k => $"kNN k={k.Name}: {k.Value.GetDouble().ToString("R", CultureInfo.InvariantCulture)}").ToList();
        Assert.Equal(4, expected.Count);
        expected.Add($"linear probe: {linear.RootElement.GetProperty("top1").GetDouble().ToString("R", CultureInfo.InvariantCulture)}"
            + $" (best lr {linear.RootElement.GetProperty("best_lr").GetDouble().ToString("R", CultureInfo.InvariantCulture)})");
        Assert.Equal(expected, lines);
    }

    static List<string> RunSample(params string[] args)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        string path = Path.Combine(ReferenceFixtures.RepositoryRoot(), "samples", "RunToScores", "bin", configuration, "net10.0", "linux-x64", "RunToScores");
        Assert.True(File.Exists(path), $"{path} does not exist: build the solution (dotnet build DinoSharp.slnx -c {configuration}).");
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        // One libtorch thread, as `dino --threads 1`: the kNN and the probe then reduce in the same order.
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "the sample did not finish");
        Assert.True(process.ExitCode == 0, $"the sample failed: {stdout} {stderr.Result}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
