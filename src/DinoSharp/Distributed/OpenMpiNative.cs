using System.Runtime.InteropServices;

namespace DinoSharp.Distributed;

/// <summary>
/// The few functions of Open MPI's C library that <see cref="MpiCommunicator"/> calls (libmpi.so.40: Open MPI 4.x and
/// 5.x; Debian's libopenmpi3). Open MPI's handles are pointers: MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM … are the ADDRESSES
/// of exported global objects (ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_op_sum), read with
/// <see cref="NativeLibrary.GetExport"/>; MPI_IN_PLACE is (void*)1. This ABI is Open MPI's own: MPICH and MS-MPI use
/// integer handles, which is also why the MPI.NET package (built against MS-MPI's) cannot drive it.
/// </summary>
internal static class OpenMpiNative
{
    public const string Library = "libmpi.so.40";
    public const int ThreadSerialized = 2;
    public const int Success = 0;
    public static readonly IntPtr InPlace = 1;

    [DllImport(Library)] public static extern int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);
    [DllImport(Library)] public static extern int MPI_Finalize();
    [DllImport(Library)] public static extern int MPI_Abort(IntPtr comm, int errorCode);
    [DllImport(Library)] public static extern int MPI_Comm_rank(IntPtr comm, out int rank);
    [DllImport(Library)] public static extern int MPI_Comm_size(IntPtr comm, out int size);
    [DllImport(Library)] public static extern int MPI_Barrier(IntPtr comm);
    [DllImport(Library)] public static extern unsafe int MPI_Allreduce(IntPtr sendBuffer, byte* receiveBuffer, int count, IntPtr datatype, IntPtr op, IntPtr comm);
    [DllImport(Library)] public static extern unsafe int MPI_Bcast(byte* buffer, int count, IntPtr datatype, int root, IntPtr comm);

    /// <summary>The handle named by an exported Open MPI object, e.g. "ompi_mpi_comm_world".</summary>
    public static IntPtr Handle(string symbol) => NativeLibrary.GetExport(NativeLibrary.Load(Library), symbol);
}
