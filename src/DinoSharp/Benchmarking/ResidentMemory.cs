using System.Diagnostics;

namespace DinoSharp.Benchmarking;

/// <summary>Resident set size of this process (what the OS holds in RAM for it, native libtorch memory included).</summary>
public static class ResidentMemory
{
    /// <summary>Current and peak RSS in bytes (Process.WorkingSet64 / PeakWorkingSet64, i.e. VmRSS / VmHWM on Linux).</summary>
    public static (long Current, long Peak) Read()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return (p.WorkingSet64, p.PeakWorkingSet64);
    }
}
