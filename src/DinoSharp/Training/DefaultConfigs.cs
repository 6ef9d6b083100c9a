namespace DinoSharp.Training;

/// <summary>The configs shipped in configs/ (embedded in the library): fashion_mnist_cpu, fashion_mnist_dinov3_cpu (a DINOv3 ViT with Gram anchoring), photos_cpu, vits14_imagenet, vitb14_imagenet.</summary>
public static class DefaultConfigs
{
    /// <summary>Names of the shipped configs (file names without .json), sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = typeof(DefaultConfigs).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("configs/", StringComparison.Ordinal)).Select(n => Path.GetFileNameWithoutExtension(n)).Order().ToList();

    /// <summary>The JSON text of a shipped config.</summary>
    public static string Json(string name)
    {
        using var stream = typeof(DefaultConfigs).Assembly.GetManifestResourceStream($"configs/{name}.json")
            ?? throw new ConfigException($"No shipped config named '{name}'. Shipped: {string.Join(", ", Names)}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>A shipped config resolved over the reference defaults, with optional overrides.</summary>
    public static DinoTrainingConfig Load(string name, IEnumerable<string>? overrides = null) =>
        TrainingConfigLoader.ResolveText(Json(name), $"configs/{name}.json", overrides);

    /// <summary>The default config of `dino train`: a small ViT on Fashion-MNIST for 2 CPU cores.</summary>
    public static DinoTrainingConfig FashionMnistCpu => Load("fashion_mnist_cpu");
}
