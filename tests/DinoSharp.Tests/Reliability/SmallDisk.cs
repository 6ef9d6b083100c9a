using System.Diagnostics;

namespace DinoSharp.Tests.Reliability;

/// <summary>
/// A real small file system: a tmpfs of the given size mounted on a fresh folder (needs root, as CI runs); a test
/// that cannot mount it is reported skipped with the reason, never passed. <see cref="Fill"/> leaves only a few bytes
/// free; <see cref="Free"/> gives the space back. Unmounted on dispose.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    SmallDisk(string folder) => Folder = folder;

    public string Folder { get; }
    string Filler => Path.Combine(Folder, "filler.bin");

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/>, or skips the calling test saying why it cannot.</summary>
    public static SmallDisk Mount(long bytes)
    {
        string folder = Path.Combine(Path.GetTempPath(), "dinosharp-disk-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        var (code, error) = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", folder);
        if (code != 0) Directory.Delete(folder);
        Skip.If(code != 0, $"cannot mount a tmpfs to simulate a full disk (mount exited {code}: {error.Trim()}); run the tests as root on Linux.");
        return new SmallDisk(folder);
    }

    /// <summary>Fills the file system until at most <paramref name="leave"/> bytes (rounded to pages) are free.</summary>
    public void Fill(long leave = 0)
    {
        using var fs = new FileStream(Filler, FileMode.Append, FileAccess.Write);
        var block = new byte[4096];
        long free = new DriveInfo(Folder).AvailableFreeSpace;
        try
        {
            while (free > leave)
            {
                fs.Write(block, 0, (int)Math.Min(block.Length, Math.Max(1, free - leave)));
                fs.Flush();
                free = new DriveInfo(Folder).AvailableFreeSpace;
            }
        }
        catch (IOException) { }   // full
    }

    /// <summary>Removes the filler.</summary>
    public void Free() => File.Delete(Filler);

    public void Dispose()
    {
        Run("umount", "-l", Folder);
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }

    static (int Code, string Error) Run(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var p = Process.Start(info)!;
            string error = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, error);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }
}
