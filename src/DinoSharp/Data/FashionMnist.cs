namespace DinoSharp.Data;

/// <summary>Fashion-MNIST (Xiao et al., 2017) as installed by Debian's <c>dataset-fashion-mnist</c> package: 60,000
/// training and 10,000 test images, 28×28 grey (returned as RGB), 10 balanced classes.</summary>
public sealed class FashionMnist : IImageDataset
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the gzip IDX files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The command that installs the dataset, quoted in the error when it is missing.</summary>
    public const string InstallCommand = "sudo apt-get install -y dataset-fashion-mnist";

    /// <summary>The class names in label order, as published with the dataset.</summary>
    public static readonly IReadOnlyList<string> Classes =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    readonly IdxDataset _idx;

    /// <summary>Opens the training (<paramref name="train"/> = true, 60,000 images) or test split (10,000).</summary>
    public FashionMnist(bool train, string folder = DefaultFolder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string prefix = train ? "train" : "t10k";
        string images = Path.Combine(folder, prefix + "-images-idx3-ubyte.gz");
        string labels = Path.Combine(folder, prefix + "-labels-idx1-ubyte.gz");
        foreach (string f in new[] { images, labels })
            if (!File.Exists(f))
                throw new DatasetNotFoundException(
                    $"Fashion-MNIST is not installed: '{f}' is missing. Install it with `{InstallCommand}`.");
        Name = "fashion-mnist:" + (train ? "train" : "test");
        _idx = new IdxDataset(images, labels, Classes, Name);
    }

    /// <summary>"fashion-mnist:train" or "fashion-mnist:test", the string <see cref="DatasetSpec.Open"/> accepts.</summary>
    public string Name { get; }
    /// <summary>60,000 for the training split, 10,000 for the test split.</summary>
    public int Count => _idx.Count;
    /// <summary>Always <see cref="Classes"/>.</summary>
    public IReadOnlyList<string>? ClassNames => Classes;
    /// <summary>Image <paramref name="index"/> as a 28×28 RGB image (the grey value repeated in the three channels).</summary>
    public RgbImage Load(int index) => _idx.Load(index);
    /// <summary>The class (0–9, an index into <see cref="Classes"/>) of image <paramref name="index"/>.</summary>
    public int? Label(int index) => _idx.Label(index);
    /// <summary>"fashion-mnist:train#123": loadable again with <see cref="DescribedImageLoader"/>.</summary>
    public string Describe(int index) => $"{Name}#{index}";
}
