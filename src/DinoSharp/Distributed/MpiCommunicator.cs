using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Distributed;

/// <summary>
/// MPI_COMM_WORLD of a job started by Open MPI's <c>mpirun</c>, through a thin P/Invoke binding (<see cref="OpenMpiNative"/>).
/// MPI is initialised once per process on first use of <see cref="World"/> (thread level MPI_THREAD_SERIALIZED: calls
/// may come from any thread, one at a time) and finalised by <see cref="Dispose"/>. An MPI error aborts the job (Open
/// MPI's default error handler), so a failed call never returns.
/// </summary>
public sealed class MpiCommunicator : ICommunicator
{
    static readonly object Gate = new();
    static MpiCommunicator? world;

    readonly IntPtr comm = OpenMpiNative.Handle("ompi_mpi_comm_world");
    readonly IntPtr sum = OpenMpiNative.Handle("ompi_mpi_op_sum");
    readonly IntPtr float32 = OpenMpiNative.Handle("ompi_mpi_float");
    readonly IntPtr float64 = OpenMpiNative.Handle("ompi_mpi_double");
    readonly IntPtr int64 = OpenMpiNative.Handle("ompi_mpi_int64_t");
    readonly IntPtr bytes = OpenMpiNative.Handle("ompi_mpi_byte");
    bool finalized;

    MpiCommunicator()
    {
        Check(OpenMpiNative.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, OpenMpiNative.ThreadSerialized, out int provided), "MPI_Init_thread");
        if (provided < OpenMpiNative.ThreadSerialized)
            throw new InvalidOperationException($"This Open MPI provides thread level {provided}; DinoSharp needs MPI_THREAD_SERIALIZED ({OpenMpiNative.ThreadSerialized}).");
        Check(OpenMpiNative.MPI_Comm_rank(comm, out int rank), "MPI_Comm_rank");
        Check(OpenMpiNative.MPI_Comm_size(comm, out int size), "MPI_Comm_size");
        Rank = rank;
        WorldSize = size;
    }

    /// <summary>The world communicator, initialising MPI on the first call.</summary>
    /// <exception cref="DllNotFoundException">Open MPI's libmpi.so.40 is not installed.</exception>
    public static MpiCommunicator World
    {
        get
        {
            lock (Gate)
            {
                if (world is { finalized: true }) throw new ObjectDisposedException(nameof(MpiCommunicator), "MPI was finalised; it cannot be initialised twice in one process.");
                return world ??= new MpiCommunicator();
            }
        }
    }

    /// <summary>True between the first use of <see cref="World"/> and its disposal.</summary>
    public static bool IsActive
    {
        get { lock (Gate) return world is { finalized: false }; }
    }

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int WorldSize { get; }

    /// <inheritdoc/>
    public unsafe void AllReduceSum(Tensor buffer)
    {
        var (type, count) = Describe(buffer, reducible: true);
        fixed (byte* data = buffer.bytes)
            Check(OpenMpiNative.MPI_Allreduce(OpenMpiNative.InPlace, data, count, type, sum, comm), "MPI_Allreduce");
    }

    /// <inheritdoc/>
    public unsafe void Broadcast(Tensor buffer, int root = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        var (type, count) = Describe(buffer, reducible: false);
        fixed (byte* data = buffer.bytes)
            Check(OpenMpiNative.MPI_Bcast(data, count, type, root, comm), "MPI_Bcast");
    }

    /// <inheritdoc/>
    public void Barrier() => Check(OpenMpiNative.MPI_Barrier(comm), "MPI_Barrier");

    /// <summary>Ends every rank of the job with <paramref name="errorCode"/> (for a rank that fails while the others may wait in a collective).</summary>
    public void Abort(int errorCode) => OpenMpiNative.MPI_Abort(comm, errorCode);

    /// <summary>Finalises MPI (collective: every rank calls it at the end of a successful run).</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (finalized) return;
            finalized = true;
            Check(OpenMpiNative.MPI_Finalize(), "MPI_Finalize");
        }
    }

    /// <summary>Aborts the job if MPI is in use: a failing rank must not leave the others waiting in a collective.</summary>
    public static void AbortIfActive(int errorCode)
    {
        MpiCommunicator? w;
        lock (Gate) w = world is { finalized: false } ? world : null;
        w?.Abort(errorCode);
    }

    (IntPtr Type, int Count) Describe(Tensor buffer, bool reducible)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.device_type != DeviceType.CPU || !buffer.is_contiguous())
            throw new ArgumentException($"MPI buffers must be contiguous CPU tensors; got a {(buffer.is_contiguous() ? "" : "non-contiguous ")}{buffer.device_type} one.", nameof(buffer));
        var type = buffer.dtype switch
        {
            ScalarType.Float32 => float32,
            ScalarType.Float64 => float64,
            ScalarType.Int64 => int64,
            ScalarType.Byte when !reducible => bytes,
            var other => throw new ArgumentException($"MPI buffers of {other} are not supported here (float32, float64, int64{(reducible ? "" : ", byte")}).", nameof(buffer)),
        };
        if (buffer.numel() * buffer.ElementSize > int.MaxValue)
            throw new ArgumentException($"An MPI buffer of {buffer.numel()} elements is over 2 GiB; split it (Collectives does).", nameof(buffer));
        return (type, (int)buffer.numel());
    }

    static void Check(int code, string function)
    {
        if (code != OpenMpiNative.Success) throw new InvalidOperationException($"{function} failed with MPI error code {code}.");
    }
}
