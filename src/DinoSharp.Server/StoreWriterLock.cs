using System.Globalization;

namespace DinoSharp.Server;

/// <summary>
/// One writer per embedding store: an exclusive lock on <c>&lt;store&gt;.lock</c> held while the explorer embeds, with
/// the holder (PID, host, start time) in <c>&lt;store&gt;.lock.owner</c> so a refusal can name it. The operating system
/// drops the lock when its process dies, so a lock left by a killed process is found stale and taken over with a warning.
/// </summary>
sealed class StoreWriterLock : IDisposable
{
    readonly FileStream stream;
    readonly string ownerPath;

    StoreWriterLock(FileStream stream, string ownerPath)
    {
        this.stream = stream;
        this.ownerPath = ownerPath;
    }

    /// <summary>Takes the lock of the store at <paramref name="basePath"/>, or throws <see cref="ExplorerStartException"/> naming the holder.</summary>
    public static StoreWriterLock Acquire(string basePath, TextWriter log)
    {
        string lockPath = basePath + ".lock", ownerPath = lockPath + ".owner";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(lockPath))!);
        string? previous = File.Exists(ownerPath) ? SafeRead(ownerPath) : null;
        FileStream stream;
        try
        {
            // FileShare.None is an flock(LOCK_EX) on Linux: a second process (any .NET process, or `flock`) is refused.
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new ExplorerStartException($"{basePath}: another process is writing this embedding store ({previous ?? "holder unknown"}); wait for it or use another --store.");
        }
        if (previous is not null)
            log.WriteLine($"warning: {basePath}: taking over a stale writer lock ({previous}; that process is gone).");
        string owner = string.Create(CultureInfo.InvariantCulture, $"PID {Environment.ProcessId} on {Environment.MachineName}, started {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC");
        File.WriteAllText(ownerPath, owner);
        return new StoreWriterLock(stream, ownerPath);
    }

    /// <summary>Removes the owner note and releases the lock (the empty lock file stays: deleting it could split the lock between two inodes).</summary>
    public void Dispose()
    {
        try { File.Delete(ownerPath); } catch (IOException) { }
        stream.Dispose();
    }

    static string? SafeRead(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return null; }
    }
}
