namespace DinoSharp.Server;

/// <summary>Where the explorer's index is: opening the model, embedding the images, serving, or stopped by an error.</summary>
public enum ExplorerPhase
{
    /// <summary>Opening the model and looking for a store to reuse.</summary>
    Loading,
    /// <summary>Embedding the dataset into a new store (progress in <see cref="ExplorerIndex.Done"/> / <see cref="ExplorerIndex.Total"/>).</summary>
    Embedding,
    /// <summary>The store is in memory; every view answers.</summary>
    Ready,
    /// <summary>Building the index failed; <see cref="ExplorerIndex.Message"/> says why.</summary>
    Failed,
}
