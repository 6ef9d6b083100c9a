using DinoSharp.Interop;
using DinoSharp.Models;
using DinoSharp.Tests.Data;
using DinoSharp.Tests.Reliability;
using static DinoSharp.Tests.Cli.CliParsingTests;

namespace DinoSharp.Tests.Cli;

/// <summary>One rule for output paths: missing folders are created, an unwritable place is refused before the work, nothing half-written is left.</summary>
public sealed class CliOutputPathTests : IDisposable
{
    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    string Fresh(string relative) => Path.Combine(files.Folder, relative);   // not created, unlike TestImages.PathOf

    static string[] Leftovers(string folder) =>
        Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Where(p => p.Contains(".tmp", StringComparison.Ordinal) || p.Contains(".dino-", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void Knn_and_linear_create_the_folders_of_their_json()
    {
        string knn = Fresh("a/b/k.json"), linear = Fresh("c/d/l.json");
        var (images, labels) = files.FakeFashion(80);
        string data = $"idx:{images},{labels}";
        var (code, error) = CliCommandTests.Dino("knn", "--model", "raw:8", "--train", data, "--test", data,
            "--limit-train", "60", "--limit-test", "20", "--k", "5", "--json", knn, "--quiet");
        Assert.True(code == 0, error);
        Assert.Contains("\"top1\"", File.ReadAllText(knn));
        (code, error) = CliCommandTests.Dino("linear", "--model", "raw:8", "--train", data, "--test", data,
            "--limit-train", "60", "--limit-test", "20", "--epochs", "1", "--json", linear, "--quiet");
        Assert.True(code == 0, error);
        Assert.Contains("\"best_lr\"", File.ReadAllText(linear));
        Assert.Empty(Leftovers(Path.Combine(files.Folder, "a")));
        Assert.Empty(Leftovers(Path.Combine(files.Folder, "c")));
    }

    [Fact]
    public void An_unwritable_output_is_refused_before_the_work()
    {
        string blocker = files.Write("blocker", [1, 2, 3]);   // a file where a folder would have to be
        string json = Path.Combine(blocker, "k.json");
        AssertOneLineUserError(CliCommandTests.Dino("knn", "--model", "raw:8", "--train", "fashion-mnist:test", "--test", "fashion-mnist:test",
            "--json", json), $"--json {json}: cannot write in {blocker}");
        AssertOneLineUserError(CliCommandTests.Dino("cluster", "--store", "nowhere", "--k", "2", "--json", files.Folder), "is a folder");
        AssertOneLineUserError(CliCommandTests.Dino("report", files.Folder, "--out", Path.Combine(blocker, "r.html")), "cannot write in");
    }

    [Fact]
    public void Convert_creates_the_folders_of_a_file_and_of_a_hugging_face_folder()
    {
        string weights = files.PathOf("w/pico.safetensors");
        using (var vit = new DinoVisionTransformer(VisionTransformerVariants.Get("vit_pico_p4")))
            BackboneCheckpoint.SaveMeta(vit, weights);
        string meta = Fresh("x/y/pico.pth"), hf = Fresh("x/z/hf");
        var (code, error) = CliCommandTests.Dino("convert", "--in", weights, "--arch", "vit_pico_p4", "--out", meta, "--quiet");
        Assert.True(code == 0, error);
        (code, error) = CliCommandTests.Dino("convert", "--in", weights, "--arch", "vit_pico_p4", "--to", "hf", "--out", hf, "--quiet");
        Assert.True(code == 0, error);
        // Writing again replaces the folder as a whole.
        (code, error) = CliCommandTests.Dino("convert", "--in", weights, "--arch", "vit_pico_p4", "--to", "hf", "--out", hf, "--quiet");
        Assert.True(code == 0, error);

        var original = SafetensorsFile.Load(weights);
        var roundTrip = TensorFile.Read(meta);
        Assert.Equal(original.Keys.Order(), roundTrip.Keys.Order());
        foreach (var (k, t) in original) Assert.True(t.equal(roundTrip[k]).all().item<bool>(), k);
        Assert.True(File.Exists(Path.Combine(hf, "model.safetensors")) && File.Exists(Path.Combine(hf, "config.json")));
        Assert.Empty(Leftovers(files.Folder));
    }

    [Fact]
    public void Report_elsewhere_leaves_the_run_folder_as_it_was()
    {
        string run = TinyRun.NewFolder("report");
        foreach (var f in new[] { "metrics.jsonl", "config.json" })
            File.Copy(Path.Combine(TinyRun.Baseline, f), Path.Combine(run, f));
        var before = Directory.GetFileSystemEntries(run, "*", SearchOption.AllDirectories).Order().ToArray();
        string html = Fresh("elsewhere/deep/report.html");
        var (code, error) = CliCommandTests.Dino("report", run, "--out", html);
        Assert.True(code == 0, error);
        Assert.Contains("<img", File.ReadAllText(html));
        Assert.Equal(before, Directory.GetFileSystemEntries(run, "*", SearchOption.AllDirectories).Order().ToArray());

        (code, error) = CliCommandTests.Dino("report", run);   // the default place: the page and its plots in the run folder
        Assert.True(code == 0, error);
        Assert.True(File.Exists(Path.Combine(run, "report.html")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(run, "report"), "*.png"));
    }
}
