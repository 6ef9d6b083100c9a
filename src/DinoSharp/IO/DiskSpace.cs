using System.Globalization;

namespace DinoSharp.IO;

/// <summary>
/// The one rule for a full disk at every write site (checkpoints, teacher export, metrics.jsonl, embedding stores and
/// their chunks, merged stores, reports, ONNX exports, converted checkpoints): the site writes under a temporary name,
/// and when the operating system reports no space (ENOSPC, or EDQUOT for a quota) it removes the partial file and
/// throws <see cref="DiskFullException"/> from <see cref="Full"/>: one line naming the path, the free space and about
/// how much more is needed. Nothing under a complete-looking name is left half written, and earlier files stay.
/// </summary>
public static class DiskSpace
{
    const int ENOSPC = 28, EDQUOT = 122;
    const int WindowsDiskFull = unchecked((int)0x80070070), WindowsHandleDiskFull = unchecked((int)0x80070027);

    /// <summary>Whether <paramref name="error"/> (or an exception inside it) is the file system running out of space.</summary>
    public static bool IsFull(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is DiskFullException) return true;
            if (e is IOException io && (io.HResult is ENOSPC or EDQUOT or WindowsDiskFull or WindowsHandleDiskFull
                || io.Message.Contains("No space left on device", StringComparison.Ordinal)
                || io.Message.Contains("Disk quota exceeded", StringComparison.Ordinal)
                || io.Message.Contains("because the disk was full", StringComparison.Ordinal)))
                return true;
        }
        return false;
    }

    /// <summary>Bytes available to this process on the file system holding <paramref name="path"/> (its nearest existing folder); -1 when unknown.</summary>
    public static long FreeBytes(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            var dir = new DirectoryInfo(System.IO.Path.GetFullPath(path));
            while (dir is not null && !dir.Exists) dir = dir.Parent;
            return dir is null ? -1 : new DriveInfo(dir.FullName).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return -1;
        }
    }

    /// <summary>
    /// The exception for a write of about <paramref name="bytesNeeded"/> bytes to <paramref name="path"/> that found the disk
    /// full: "&lt;path&gt;: the disk is full (F free, about N needed): free at least M or write elsewhere; nothing written
    /// earlier was lost."
    /// </summary>
    public static DiskFullException Full(string path, long bytesNeeded, Exception? inner = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        long free = FreeBytes(path);
        long more = Math.Max(bytesNeeded - Math.Max(free, 0), 1);
        string freeText = free < 0 ? "free space unknown" : Bytes(free) + " free";
        return new DiskFullException(
            $"{path}: the disk is full ({freeText}, about {Bytes(bytesNeeded)} needed): free at least {Bytes(more)} or write elsewhere; nothing written earlier was lost.",
            path, inner);
    }

    /// <summary>Total size of the files under <paramref name="path"/> (a file or a folder, recursively); 0 when absent.</summary>
    public static long SizeOf(string path)
    {
        if (File.Exists(path)) return new FileInfo(path).Length;
        if (!Directory.Exists(path)) return 0;
        return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
    }

    /// <summary>
    /// Runs <paramref name="write"/>, which writes the temporary file or folder <paramref name="temporary"/> standing in for
    /// <paramref name="path"/>; when the disk fills, removes <paramref name="temporary"/> and throws <see cref="Full"/>
    /// (bytes needed: <paramref name="bytesNeeded"/>, or at least what was written before the failure plus what the
    /// file system still reports free).
    /// </summary>
    public static void Write(string path, string temporary, Action write, long bytesNeeded = 0)
    {
        ArgumentNullException.ThrowIfNull(write);
        try
        {
            write();
        }
        catch (Exception e) when (IsFull(e) && e is not DiskFullException)
        {
            long written = SizeOf(temporary);
            Remove(temporary);
            // What was written before the failure plus a little: a lower bound when the size is not known ahead.
            long needed = Math.Max(bytesNeeded, written + Math.Max(FreeBytes(path), 0) + 4096);
            throw Full(path, needed, e);
        }
    }

    /// <summary>Deletes a file or folder, ignoring what cannot be deleted (the caller is already failing).</summary>
    public static void Remove(string path)
    {
        try
        {
            if (File.Exists(path)) File.Delete(path);
            else if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>A size for people: "512 bytes", "34.5 kB", "12.3 MB", "1.20 GB".</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        < 1000 => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
        < 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e3:F1} kB"),
        < 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F1} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F2} GB"),
    };
}
