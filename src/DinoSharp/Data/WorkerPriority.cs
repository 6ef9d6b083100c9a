using System.Runtime.InteropServices;

namespace DinoSharp.Data;

/// <summary>
/// Lowers the CPU priority of the calling thread (Linux: nice +10 for this thread alone). The data loader's threads call
/// it so that, when they compete with libtorch's OpenMP threads for the same cores, the model wins: one preempted
/// OpenMP thread stalls the whole parallel region at its barrier, so a loader thread at equal priority slows every
/// matrix product it overlaps by far more than the CPU time it takes. At lower priority the loader runs in the gaps
/// between parallel regions and still keeps far ahead of the step (its prefetch queue absorbs the rest).
/// </summary>
internal static class WorkerPriority
{
    const int PrioProcess = 0;
    const int Niceness = 10;

    [DllImport("libc", SetLastError = true)] static extern int gettid();
    [DllImport("libc", SetLastError = true)] static extern int setpriority(int which, int who, int prio);

    /// <summary>Best effort: on other systems, or if the call is refused, the thread keeps its priority.</summary>
    public static void LowerCurrentThread()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            setpriority(PrioProcess, gettid(), Niceness);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }
}
