using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DinoSharp.Tests.Reliability;

/// <summary>The built `dino` CLI run as a child process, its output collected line by line, signals sent by pid.</summary>
public sealed class DinoCli : IDisposable
{
    readonly Process process;
    readonly ConcurrentQueue<string> stdout = new(), stderr = new();

    DinoCli(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) stdout.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) stderr.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>src/DinoSharp.Cli/bin/&lt;same configuration as the tests&gt;/net10.0/linux-x64/dino.</summary>
    public static string BinaryPath { get; } = FindBinary();

    static string FindBinary()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DinoSharp.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("Cannot find DinoSharp.slnx above " + AppContext.BaseDirectory);
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        string path = Path.Combine(dir.FullName, "src", "DinoSharp.Cli", "bin", configuration, "net10.0", "linux-x64", "dino");
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} does not exist: build the solution (dotnet build DinoSharp.slnx -c {configuration}).");
        return path;
    }

    public static DinoCli Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(BinaryPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        return new DinoCli(Process.Start(info)!);
    }

    /// <summary>Runs to the end and returns (exit code, stdout, stderr).</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(IEnumerable<string> args, TimeSpan? timeout = null)
    {
        using var cli = Start(args);
        int code = cli.WaitForExit(timeout ?? TimeSpan.FromSeconds(90));
        return (code, cli.Stdout, cli.Stderr);
    }

    public int Pid => process.Id;
    public string Stdout => string.Join('\n', stdout);
    public string Stderr => string.Join('\n', stderr);
    public bool HasExited => process.HasExited;

    /// <summary>Waits for a line of stderr containing <paramref name="text"/>; false on timeout or exit.</summary>
    public bool WaitForStderr(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (stderr.Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
            if (process.HasExited) { process.WaitForExit(); return stderr.Any(l => l.Contains(text, StringComparison.Ordinal)); }
            Thread.Sleep(5);
        }
        return false;
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            throw new TimeoutException($"dino did not exit within {timeout}. stderr: {Stderr}");
        }
        process.WaitForExit();   // drains the redirected output
        return process.ExitCode;
    }

    public const int SIGKILL = 9, SIGTERM = 15;

    public void Signal(int signal)
    {
        if (kill(process.Id, signal) != 0) throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    public void Dispose()
    {
        if (!process.HasExited) process.Kill();
        process.Dispose();
    }
}
