using static TorchSharp.torch;

namespace DinoSharp.Distributed;

/// <summary>A job of one process: every collective is the identity.</summary>
public sealed class SingleProcessCommunicator : ICommunicator
{
    public int Rank => 0;
    public int WorldSize => 1;
    public void AllReduceSum(Tensor buffer) => ArgumentNullException.ThrowIfNull(buffer);
    public void Broadcast(Tensor buffer, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNotEqual(root, 0);
    }
    public void Barrier() { }
    public void Dispose() { }
}
