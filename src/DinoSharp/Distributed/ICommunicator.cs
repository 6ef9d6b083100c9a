using static TorchSharp.torch;

namespace DinoSharp.Distributed;

/// <summary>
/// The processes of one data-parallel job (torch.distributed's process group, reduced to what training needs). Every
/// rank must make the same collective calls in the same order with buffers of the same shape. Buffers are contiguous
/// CPU tensors of float32, float64 or int64 (byte too for <see cref="Broadcast"/>); <see cref="Collectives"/> builds
/// large flat chunks from tensors on any device. Dispose ends the job's communication and is itself collective.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's index, 0 … WorldSize − 1; rank 0 is the one that writes files.</summary>
    int Rank { get; }

    /// <summary>Number of processes.</summary>
    int WorldSize { get; }

    /// <summary>Replaces <paramref name="buffer"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllReduceSum(Tensor buffer);

    /// <summary>Replaces <paramref name="buffer"/> on every rank by rank <paramref name="root"/>'s.</summary>
    void Broadcast(Tensor buffer, int root = 0);

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();
}
