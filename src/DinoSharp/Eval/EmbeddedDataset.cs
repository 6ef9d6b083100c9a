using static TorchSharp.torch;

namespace DinoSharp.Eval;

/// <summary>A dataset's embeddings in dataset order, with what each row came from; images that could not be decoded are left out and listed.</summary>
/// <param name="Embeddings">[N, E] float32 on the CPU, rows L2-normalised; owned by this record.</param>
/// <param name="Labels">Class index of each row, or -1 for an unlabelled image.</param>
/// <param name="Paths">What each row is (<see cref="Data.IImageDataset.Describe"/>): a file path or dataset#index.</param>
/// <param name="Sizes">Width and height of each decoded image.</param>
/// <param name="Skipped">The messages of the images that could not be decoded.</param>
public sealed record EmbeddedDataset(Tensor Embeddings, long[] Labels, IReadOnlyList<string> Paths, IReadOnlyList<(int W, int H)> Sizes, IReadOnlyList<string> Skipped)
    : IDisposable
{
    /// <summary>True when every row has a class label.</summary>
    public bool IsLabelled => Labels.Length > 0 && Labels.All(l => l >= 0);

    /// <summary>Disposes <see cref="Embeddings"/>.</summary>
    public void Dispose() => Embeddings.Dispose();
}
