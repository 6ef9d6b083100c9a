namespace DinoSharp.Data;

/// <summary>The augmented views of one image: normalised float CHW arrays, [3, GlobalSize, GlobalSize] for each of
/// the 2 global crops and [3, LocalSize, LocalSize] for each local crop.</summary>
public sealed class MultiCropSample
{
    /// <summary>Wraps the crop arrays (not copied).</summary>
    public MultiCropSample(float[][] globalCrops, float[][] localCrops, int globalSize, int localSize, int? label = null)
    {
        ArgumentNullException.ThrowIfNull(globalCrops);
        ArgumentNullException.ThrowIfNull(localCrops);
        GlobalCrops = globalCrops;
        LocalCrops = localCrops;
        GlobalSize = globalSize;
        LocalSize = localSize;
        Label = label;
    }

    /// <summary>The 2 global crops, each 3·GlobalSize² floats in CHW order, ImageNet-normalised.</summary>
    public float[][] GlobalCrops { get; }
    /// <summary>The local crops (possibly none), each 3·LocalSize² floats in CHW order, ImageNet-normalised.</summary>
    public float[][] LocalCrops { get; }
    /// <summary>Side of a global crop in pixels.</summary>
    public int GlobalSize { get; }
    /// <summary>Side of a local crop in pixels.</summary>
    public int LocalSize { get; }
    /// <summary>The image's class label, or null when unlabelled.</summary>
    public int? Label { get; }
}
