using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Fixtures;

/// <summary>One tensor entry of a fixture folder's manifest.json.</summary>
public sealed record FixtureTensor(string Name, string File, long[] Shape, string OrigDtype, string Meaning);

/// <summary>
/// A folder of reference tensors produced by facebookresearch/dinov2 (format described in its README and manifest.json).
/// Tests walk the manifest instead of hard-coding names, so any folder in the same format can be swapped in with the
/// DINOSHARP_FIXTURES environment variable (default: ../shared/fixtures/dinov2-reference beside the repository).
/// </summary>
public sealed class ReferenceFixtures
{
    public const string EnvironmentVariable = "DINOSHARP_FIXTURES";

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

    public static ReferenceFixtures Instance => Default.Value;

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
        return Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "fixtures", "dinov2-reference"));
    }

    public static ReferenceFixtures Open(string folder)
    {
        var manifest = Path.Combine(folder, "manifest.json");
        if (!File.Exists(manifest))
            throw new FileNotFoundException($"No fixture manifest at {manifest}. Set {EnvironmentVariable} to a fixture folder.", manifest);
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

    public JsonElement LossConfig => Manifest.GetProperty("loss_config");

    /// <summary>Max absolute difference between two tensors of the same shape.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var d = (a.detach().cpu().to(ScalarType.Float64) - b.detach().cpu().to(ScalarType.Float64)).abs().max();
        return d.item<double>();
    }
}
