using static TorchSharp.torch;

namespace DinoSharp.Distributed;

/// <summary>A job of one process: every collective is the identity.</summary>
public sealed class SingleProcessCommunicator : ICommunicator
{
    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int WorldSize => 1;
    /// <inheritdoc/>
    public void AllReduceSum(Tensor buffer) => ArgumentNullException.ThrowIfNull(buffer);
    /// <inheritdoc/>
    public void Broadcast(Tensor buffer, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNotEqual(root, 0);
    }
    /// <inheritdoc/>
    public void Barrier() { }
    /// <inheritdoc/>
    public void Dispose() { }
}
