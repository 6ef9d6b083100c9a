namespace DinoSharp.Data;

/// <summary>The augmented views of one image: normalised float CHW arrays, [3, GlobalSize, GlobalSize] for each of
/// the 2 global crops and [3, LocalSize, LocalSize] for each local crop.</summary>
public sealed class MultiCropSample
{
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

    public float[][] GlobalCrops { get; }
    public float[][] LocalCrops { get; }
    public int GlobalSize { get; }
    public int LocalSize { get; }
    public int? Label { get; }
}
