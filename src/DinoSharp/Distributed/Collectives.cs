using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Distributed;

/// <summary>
/// What training does with a communicator, built on its three primitives. Many tensors are packed into large flat
/// chunks (<see cref="ChunkElements"/> each) so a model costs a handful of MPI calls, not one per tensor; tensors may
/// live on any device (chunks go through CPU memory, as MPI without GPU support needs).
/// </summary>
public static class Collectives
{
    /// <summary>Elements per flat chunk: 16 Mi (64 MiB of float32), large enough to run at the link's bandwidth.</summary>
    public const long ChunkElements = 16L << 20;

    /// <summary>Every tensor becomes its mean over the ranks (in place). Tensors must be contiguous.</summary>
    public static void AllReduceMean(this ICommunicator comm, IReadOnlyList<Tensor> tensors, long chunkElements = ChunkElements)
    {
        ArgumentNullException.ThrowIfNull(comm);
        if (comm.WorldSize == 1) return;
        InFlatChunks(tensors, chunkElements, chunk =>
        {
            comm.AllReduceSum(chunk);
            chunk.div_(comm.WorldSize);
        });
    }

    /// <summary>Every tensor becomes rank <paramref name="root"/>'s (in place, without autograd). Tensors must be contiguous.</summary>
    public static void Broadcast(this ICommunicator comm, IReadOnlyList<Tensor> tensors, int root = 0, long chunkElements = ChunkElements)
    {
        ArgumentNullException.ThrowIfNull(comm);
        if (comm.WorldSize == 1) return;
        InFlatChunks(tensors, chunkElements, chunk => comm.Broadcast(chunk, root));
    }

    /// <summary>
    /// Averages the gradients of <paramref name="parameters"/> over the ranks (data parallelism: with equal shards the
    /// mean of the shards' mean-loss gradients is the whole batch's). A parameter without a gradient on this rank gets
    /// zeros when another rank has one, so every rank's optimiser steps the same parameters.
    /// </summary>
    public static void AverageGradients(this ICommunicator comm, IReadOnlyList<Parameter> parameters, long chunkElements = ChunkElements)
    {
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentNullException.ThrowIfNull(parameters);
        if (comm.WorldSize == 1) return;
        var present = comm.SumAcrossRanks(parameters.Select(p => p.grad is null ? 0.0 : 1.0).ToArray());
        var grads = new List<Tensor>();
        for (int i = 0; i < parameters.Count; i++)
        {
            if (present[i] == 0) continue;
            parameters[i].grad ??= torch.zeros_like(parameters[i]);
            grads.Add(parameters[i].grad!);
        }
        comm.AllReduceMean(grads, chunkElements);
    }

    /// <summary>The element-wise sum over the ranks of a few numbers (loss terms, counts, flags).</summary>
    public static double[] SumAcrossRanks(this ICommunicator comm, params double[] values)
    {
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentNullException.ThrowIfNull(values);
        if (comm.WorldSize == 1) return (double[])values.Clone();
        using var buffer = torch.tensor(values, ScalarType.Float64);
        comm.AllReduceSum(buffer);
        return buffer.data<double>().ToArray();
    }

    /// <summary>True on every rank when <paramref name="flag"/> is true on any.</summary>
    public static bool Any(this ICommunicator comm, bool flag) => comm.SumAcrossRanks(flag ? 1 : 0)[0] > 0;

    /// <summary>
    /// A new tensor holding the sum over the ranks of <paramref name="tensor"/> (any device, returned on the same one):
    /// the hook the losses take for their centers and Sinkhorn-Knopp.
    /// </summary>
    public static Tensor SumAcrossRanks(this ICommunicator comm, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentNullException.ThrowIfNull(tensor);
        var buffer = tensor.detach().to(CPU).contiguous().clone();
        comm.AllReduceSum(buffer);
        if (buffer.device == tensor.device) return buffer;
        using (buffer) return buffer.to(tensor.device);
    }

    /// <summary>Rank <paramref name="root"/>'s bytes on every rank (other ranks pass null). For small messages; files go by <see cref="BroadcastFile"/>.</summary>
    public static byte[] BroadcastBytes(this ICommunicator comm, byte[]? data, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(comm);
        if (comm.Rank == root) ArgumentNullException.ThrowIfNull(data);
        if (comm.WorldSize == 1) return data!;
        using var length = torch.tensor(new[] { data?.LongLength ?? 0L });
        comm.Broadcast(length, root);
        using var buffer = comm.Rank == root ? torch.tensor(data!, ScalarType.Byte) : torch.empty(length.data<long>()[0], ScalarType.Byte);
        comm.Broadcast(buffer, root);
        return buffer.bytes.ToArray();
    }

    /// <summary>
    /// Copies rank <paramref name="root"/>'s file <paramref name="source"/> to <paramref name="destination"/> on every
    /// other rank, in chunks (so ranks on other machines need no shared file system). Returns the path holding the
    /// file on this rank.
    /// </summary>
    public static string BroadcastFile(this ICommunicator comm, string source, string destination, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(comm);
        bool isRoot = comm.Rank == root;
        if (comm.WorldSize == 1) return source;
        using var length = torch.tensor(new[] { isRoot ? new FileInfo(source).Length : 0L });
        comm.Broadcast(length, root);
        long total = length.data<long>()[0];
        using var file = isRoot ? File.OpenRead(source) : File.Create(destination);
        using var chunk = torch.empty(Math.Min(total, ChunkElements * 4), ScalarType.Byte);
        for (long done = 0; done < total;)
        {
            int n = (int)Math.Min(chunk.numel(), total - done);
            using var part = chunk.narrow(0, 0, n);
            if (isRoot) file.ReadExactly(part.bytes);
            comm.Broadcast(part, root);
            if (!isRoot) file.Write(part.bytes);
            done += n;
        }
        return isRoot ? source : destination;
    }

    /// <summary>Rank <paramref name="root"/>'s value (serialised as JSON) on every rank.</summary>
    public static T BroadcastJson<T>(this ICommunicator comm, T value, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(comm);
        if (comm.WorldSize == 1) return value;
        var bytes = comm.BroadcastBytes(comm.Rank == root ? JsonSerializer.SerializeToUtf8Bytes(value) : null, root);
        return JsonSerializer.Deserialize<T>(bytes)!;
    }

    /// <summary>
    /// Packs the tensors, grouped by dtype, into CPU chunks of at most <paramref name="chunkElements"/>, runs
    /// <paramref name="collective"/> on each in place and copies the results back.
    /// </summary>
    static void InFlatChunks(IReadOnlyList<Tensor> tensors, long chunkElements, Action<Tensor> collective)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkElements, 1);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pieces = new List<Tensor>();
        long filled = 0;
        foreach (var group in tensors.GroupBy(t => t.dtype))
        {
            foreach (var t in group)
            {
                if (!t.is_contiguous()) throw new ArgumentException($"Collectives need contiguous tensors; got one of shape [{string.Join(", ", t.shape)}] that is not.", nameof(tensors));
                var flat = t.view(-1);
                for (long offset = 0; offset < flat.numel();)
                {
                    long take = Math.Min(flat.numel() - offset, chunkElements - filled);
                    pieces.Add(flat.narrow(0, offset, take));
                    offset += take;
                    filled += take;
                    if (filled == chunkElements) Flush();
                }
            }
            Flush();
        }

        void Flush()
        {
            if (pieces.Count == 0) return;
            var chunk = torch.cat(pieces, 0).to(CPU).contiguous();
            collective(chunk);
            long at = 0;
            foreach (var piece in pieces)
            {
                piece.copy_(chunk.narrow(0, at, piece.numel()));
                at += piece.numel();
            }
            chunk.Dispose();
            pieces.Clear();
            filled = 0;
        }
    }
}
