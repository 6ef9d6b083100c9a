using static TorchSharp.torch;

namespace DinoSharp.Data;

/// <summary>
/// One collated training batch (dinov2's collate_data_and_cast output). Crops are crop-major: rows [0, B) are every
/// image's first global crop, rows [B, 2B) every image's second. The batch owns its tensors; dispose it after the step.
/// Its tensors are created outside any dispose scope, so a step's <c>torch.NewDisposeScope()</c> does not free them.
/// </summary>
public sealed class MultiCropBatch : IDisposable
{
    /// <summary>Wraps already collated tensors (the shapes are described on each property); the batch takes ownership of them.</summary>
    public MultiCropBatch(long iteration, int batchSize, Tensor globalCrops, Tensor localCrops, Tensor masks,
        Tensor maskIndices, Tensor masksWeight, int numMaskedPatches, int upperbound, Tensor? labels, int? totalMaskedPatches = null)
    {
        ArgumentNullException.ThrowIfNull(globalCrops);
        ArgumentNullException.ThrowIfNull(localCrops);
        ArgumentNullException.ThrowIfNull(masks);
        ArgumentNullException.ThrowIfNull(maskIndices);
        ArgumentNullException.ThrowIfNull(masksWeight);
        Iteration = iteration;
        BatchSize = batchSize;
        GlobalCrops = globalCrops;
        LocalCrops = localCrops;
        Masks = masks;
        MaskIndices = maskIndices;
        MasksWeight = masksWeight;
        NumMaskedPatches = numMaskedPatches;
        Upperbound = upperbound;
        Labels = labels;
        TotalMaskedPatches = totalMaskedPatches ?? numMaskedPatches;
    }

    /// <summary>Global iteration this batch belongs to (resume from Iteration + 1).</summary>
    public long Iteration { get; }

    /// <summary>Images in the batch (B).</summary>
    public int BatchSize { get; }

    /// <summary>[2B, 3, G, G] float32, normalised, crop-major.</summary>
    public Tensor GlobalCrops { get; }

    /// <summary>[L·B, 3, l, l] float32, normalised, crop-major (0 rows when there are no local crops).</summary>
    public Tensor LocalCrops { get; }

    /// <summary>[2B, N] bool: the iBOT mask of each global crop row, N = patches per global crop.</summary>
    public Tensor Masks { get; }

    /// <summary>[nMasked] int64: flat indices of the true entries of Masks (masks.flatten().nonzero()).</summary>
    public Tensor MaskIndices { get; }

    /// <summary>[nMasked] float32: 1 / (masked patches in that row), so each image's masked patches weigh 1 in total.</summary>
    public Tensor MasksWeight { get; }

    /// <summary>Total masked patches over all global crops, the length of <see cref="MaskIndices"/>.</summary>
    public int NumMaskedPatches { get; }

    /// <summary>
    /// Masked patches of the whole global batch when this batch is one rank's shard of it (see
    /// <see cref="MultiCropDataLoader"/>); equal to <see cref="NumMaskedPatches"/> otherwise.
    /// </summary>
    public int TotalMaskedPatches { get; }

    /// <summary>Σ int(N · ratio upper bound) over the masked rows (of the global batch): a static upper bound of NumMaskedPatches.</summary>
    public int Upperbound { get; }

    /// <summary>[B] int64 class labels when the dataset is labelled (not used by self-supervised training).</summary>
    public Tensor? Labels { get; }

    /// <summary>
    /// The batch with its tensors on <paramref name="device"/>: itself when they are already there, otherwise a copy
    /// whose tensors belong to the caller's dispose scope.
    /// </summary>
    public MultiCropBatch To(Device device)
    {
        if (GlobalCrops.device == device) return this;
        return new MultiCropBatch(Iteration, BatchSize, GlobalCrops.to(device), LocalCrops.to(device), Masks.to(device),
            MaskIndices.to(device), MasksWeight.to(device), NumMaskedPatches, Upperbound, Labels?.to(device), TotalMaskedPatches);
    }

    /// <summary>Frees all of the batch's tensors.</summary>
    public void Dispose()
    {
        GlobalCrops.Dispose();
        LocalCrops.Dispose();
        Masks.Dispose();
        MaskIndices.Dispose();
        MasksWeight.Dispose();
        Labels?.Dispose();
    }
}
