using System.Diagnostics;
using DinoSharp.Tests.Reliability;

namespace DinoSharp.Tests.Distributed;

/// <summary>Open MPI's mpirun starting the built `dino` CLI as N ranks on this machine.</summary>
public static class Mpirun
{
    /// <summary>mpirun on the PATH, or null when Open MPI is not installed.</summary>
    public static string? Path { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => System.IO.Path.Combine(dir, "mpirun"))
        .FirstOrDefault(File.Exists);

    public const string Missing = "Open MPI's mpirun is not installed (apt-get install openmpi-bin; scripts/ensure-deps.sh does it as root).";

    /// <summary>Runs `mpirun -np <paramref name="ranks"/> --oversubscribe dino ARGS` to the end: (exit code, stdout, stderr).</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunDino(int ranks, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        using var process = StartDino(ranks, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpirun -np {ranks} dino {string.Join(' ', args)} did not finish in time. stderr: {stderr.Result}");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts `mpirun -np <paramref name="ranks"/> --oversubscribe dino ARGS` with stdout and stderr redirected.</summary>
    public static Process StartDino(int ranks, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(Path ?? throw new InvalidOperationException(Missing))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-np", ranks.ToString(), "--oversubscribe", DinoCli.BinaryPath }.Concat(args)) info.ArgumentList.Add(a);
        // CI runs as root, which Open MPI refuses unless told it is intended.
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        return Process.Start(info)!;
    }

    /// <summary>
    /// The pid of the process of rank <paramref name="rank"/> started by the mpirun process <paramref name="mpirunPid"/>
    /// (a descendant whose environment has OMPI_COMM_WORLD_RANK=rank), or null while there is none.
    /// </summary>
    public static int? RankPid(int mpirunPid, int rank)
    {
        string wanted = $"OMPI_COMM_WORLD_RANK={rank}";
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out int pid) || pid == mpirunPid) continue;
            try
            {
                if (!DescendsFrom(pid, mpirunPid)) continue;
                var environ = File.ReadAllText(System.IO.Path.Combine(dir, "environ")).Split('\0');
                if (environ.Contains(wanted)) return pid;
            }
            catch (IOException) { }          // the process ended while we looked
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }

    static bool DescendsFrom(int pid, int ancestor)
    {
        for (int depth = 0; depth < 8 && pid > 1; depth++)
        {
            // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            pid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
            if (pid == ancestor) return true;
        }
        return false;
    }
}

/// <summary>
/// A fact that needs Open MPI: skipped, saying why, only when mpirun is absent. Skippable, so such a test can also
/// call <see cref="Requires"/> for what else it needs.
/// </summary>
public sealed class MpiFactAttribute : SkippableFactAttribute
{
    public MpiFactAttribute()
    {
        if (Mpirun.Path is null) Skip = Mpirun.Missing;
    }
}
