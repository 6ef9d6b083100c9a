using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Fixtures;

/// <summary>One tensor entry of a fixture folder's manifest.json.</summary>
public sealed record FixtureTensor(string Name, string File, long[] Shape, string OrigDtype, string Meaning);

/// <summary>
/// A folder of reference tensors produced by facebookresearch/dinov2 or dinov3 (format described in its README and
/// manifest.json; how they were made: tests/fixtures/README.md). Tests walk the manifest instead of hard-coding names,
/// so any folder in the same format can be swapped in: DINOSHARP_FIXTURES selects the DINOv2 folder (default: the
/// repository's tests/fixtures/dinov2-reference), DINOSHARP_FIXTURES_V3 the DINOv3 one (default: dinov3-reference
/// beside whichever DINOv2 folder is in use).
/// </summary>
public sealed class ReferenceFixtures
{
    public const string EnvironmentVariable = "DINOSHARP_FIXTURES";
    public const string EnvironmentVariableV3 = "DINOSHARP_FIXTURES_V3";

    ReferenceFixtures(string folder, JsonDocument manifest)
    {
        Folder = folder;
        Manifest = manifest.RootElement;
        Tensors = Manifest.GetProperty("tensors").EnumerateArray()
            .Select(t => new FixtureTensor(
                t.GetProperty("name").GetString()!,
                t.GetProperty("file").GetString()!,
                t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
                t.GetProperty("orig_dtype").GetString()!,
                t.GetProperty("meaning").GetString() ?? ""))
            .ToDictionary(t => t.Name);
    }

    public string Folder { get; }
    public JsonElement Manifest { get; }
    public IReadOnlyDictionary<string, FixtureTensor> Tensors { get; }

    static readonly Lazy<ReferenceFixtures> Default = new(() => Open(DefaultFolder()));
    static readonly Lazy<ReferenceFixtures> DefaultV3 = new(() => Open(DefaultFolderV3()));

    /// <summary>The DINOv2 fixtures.</summary>
    public static ReferenceFixtures Instance => Default.Value;

    /// <summary>The DINOv3 fixtures.</summary>
    public static ReferenceFixtures V3 => DefaultV3.Value;

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DinoSharp.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (DinoSharp.slnx) above " + AppContext.BaseDirectory);
    }

    public static string DefaultFolder()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) return env;
        return Path.Combine(RepositoryRoot(), "tests", "fixtures", "dinov2-reference");
    }

    public static string DefaultFolderV3()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariableV3);
        if (!string.IsNullOrWhiteSpace(env)) return env;
        var v2 = Path.GetFullPath(DefaultFolder());
        return Path.Combine(Path.GetDirectoryName(v2.TrimEnd(Path.DirectorySeparatorChar))!, "dinov3-reference");
    }

    public static ReferenceFixtures Open(string folder)
    {
        var manifest = Path.Combine(folder, "manifest.json");
        if (!File.Exists(manifest))
            throw new FileNotFoundException($"No fixture manifest at {manifest}. Set {EnvironmentVariable} (DINOv2) or {EnvironmentVariableV3} (DINOv3) to a fixture folder.", manifest);
        return new ReferenceFixtures(folder, JsonDocument.Parse(File.ReadAllText(manifest)));
    }

    public string PathOf(string file) => System.IO.Path.Combine(Folder, file);

    public bool Has(string name) => Tensors.ContainsKey(name);

    /// <summary>Loads a fixture tensor as float32 with its manifest shape.</summary>
    public Tensor Load(string name)
    {
        var t = Tensors[name];
        var bytes = System.IO.File.ReadAllBytes(PathOf(t.File));
        var data = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, data, 0, bytes.Length);
        return torch.tensor(data).reshape(t.Shape);
    }

    /// <summary>The model names in <c>models</c>, with their constructor config.</summary>
    public IEnumerable<(string Name, JsonElement Config, string[] Files)> Models() =>
        Manifest.GetProperty("models").EnumerateObject().Select(m => (
            m.Name,
            m.Value.GetProperty("config"),
            m.Value.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToArray()));

    /// <summary>
    /// The input tags the reference ran <paramref name="model"/> on, read from its output names
    /// <c>model__tag__output</c> (a tag is an input name, with <c>aa_</c> before it for an antialiased resize and
    /// <c>_masked</c> after it for a masked run), in ordinal order; only tags with <paramref name="output"/> when given.
    /// </summary>
    public IEnumerable<string> InputTags(string model, string? output = null) =>
        Tensors.Keys.Select(n => n.Split("__"))
            .Where(p => p.Length == 3 && p[0] == model && (output is null || p[2] == output))
            .Select(p => p[1]).Distinct().Order(StringComparer.Ordinal);

    /// <summary>(model, checkpoint file, input tag) for every checkpoint file and input tag of the models <paramref name="isModel"/> accepts.</summary>
    public TheoryData<string, string, string> OutputCases(Func<JsonElement, bool> isModel)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (model, config, files) in Models().Where(m => isModel(m.Config)))
            foreach (var file in files)
                foreach (var tag in InputTags(model))
                    data.Add(model, file, tag);
        return data;
    }

    public JsonElement LossConfig => Manifest.GetProperty("loss_config");

    /// <summary>Named argument sets of the DINOv3 fixtures (<c>cases.&lt;name&gt;.args</c>), e.g. the Gram loss cases.</summary>
    public IEnumerable<(string Name, JsonElement Args)> Cases() =>
        Manifest.TryGetProperty("cases", out var cases)
            ? cases.EnumerateObject().Select(c => (c.Name, c.Value.GetProperty("args")))
            : [];

    /// <summary>Max absolute difference between two tensors of the same shape.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        if (a.numel() == 0) return 0;   // e.g. the storage tokens of a model without any: equal shapes are all there is
        using var d = (a.detach().cpu().to(ScalarType.Float64) - b.detach().cpu().to(ScalarType.Float64)).abs().max();
        return d.item<double>();
    }
}
