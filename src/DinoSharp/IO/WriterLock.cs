using System.Globalization;

namespace DinoSharp.IO;

/// <summary>
/// One writer per folder or store: an exclusive lock on a lock file (<c>&lt;run folder&gt;/.lock</c>,
/// <c>&lt;store&gt;.lock</c>) held for as long as the writer works, with the holder (PID, host, start time) in
/// <c>&lt;lock&gt;.owner</c> so a refusal can name it. The operating system drops the lock when its process dies (it is
/// an <c>flock</c>, released with the file descriptor), so a lock left by a killed process is recognised as stale (its
/// owner note is still there, the lock is free) and taken over with a warning. Readers take no lock.
/// The lock file itself is left in place on release: deleting it could let two writers lock two different files.
/// </summary>
public sealed class WriterLock : IDisposable
{
    /// <summary>Extension of the owner note written beside the lock file.</summary>
    public const string OwnerExtension = ".owner";

    readonly FileStream stream;
    readonly string ownerPath;

    WriterLock(FileStream stream, string ownerPath, string holder)
    {
        this.stream = stream;
        this.ownerPath = ownerPath;
        Holder = holder;
    }

    /// <summary>This process's description, as written in the owner note ("PID 123 on host, started … UTC").</summary>
    public string Holder { get; }

    /// <summary>Takes the lock of the training run folder <paramref name="folder"/> (created if missing).</summary>
    /// <exception cref="WriterLockException">Another live process holds it.</exception>
    public static WriterLock ForRunFolder(string folder, Action<string>? warn = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        return Acquire(Path.Combine(folder, ".lock"), $"{folder}: another process is training into this folder", "wait for it to finish or choose another --out", warn);
    }

    /// <summary>Takes the lock of the embedding store at <paramref name="basePath"/> (path without extension).</summary>
    /// <param name="basePath">The store's base path.</param>
    /// <param name="option">The option that named the store, for the advice in the refusal (e.g. "--out", "--store").</param>
    /// <param name="warn">Receives the warning when a stale lock is taken over.</param>
    /// <exception cref="WriterLockException">Another live process holds it.</exception>
    public static WriterLock ForStore(string basePath, string option = "--out", Action<string>? warn = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(basePath);
        return Acquire(basePath + ".lock", $"{basePath}: another process is writing this embedding store", $"wait for it or use another {option}", warn);
    }

    /// <summary>
    /// Takes the exclusive lock on <paramref name="lockPath"/> without waiting. Refusal: <see cref="WriterLockException"/>
    /// "<paramref name="busy"/> (holder); <paramref name="advice"/>.".
    /// </summary>
    public static WriterLock Acquire(string lockPath, string busy, string advice, Action<string>? warn = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lockPath);
        string ownerPath = lockPath + OwnerExtension;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(lockPath))!);
        FileStream stream;
        try
        {
            // FileShare.None is an flock(LOCK_EX | LOCK_NB) on Linux: any other open of the file for locking is refused,
            // in this process or another, until the descriptor is closed (by Dispose or by the process's death).
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException and not PathTooLongException)
        {
            throw new WriterLockException($"{busy} ({ReadOwner(ownerPath) ?? "holder unknown"}); {advice}.", lockPath);
        }
        try
        {
            if (ReadOwner(ownerPath) is { } previous)
                warn?.Invoke($"{busy.Split(": ")[0]}: taking over a stale writer lock ({previous}; that process is gone).");
            string holder = string.Create(CultureInfo.InvariantCulture,
                $"PID {Environment.ProcessId} on {Environment.MachineName}, started {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC");
            DiskSpace.Write(ownerPath, ownerPath, () => File.WriteAllText(ownerPath, holder), holder.Length);
            return new WriterLock(stream, ownerPath, holder);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Removes the owner note and releases the lock.</summary>
    public void Dispose()
    {
        try { File.Delete(ownerPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        stream.Dispose();
    }

    static string? ReadOwner(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path).Trim() is { Length: > 0 } text ? text : null : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
