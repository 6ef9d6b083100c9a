namespace DinoSharp.IO;

/// <summary>Another live process is writing the folder or store (<see cref="WriterLock"/>); the message names it (PID, host, start time) and what to do.</summary>
public sealed class WriterLockException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line naming the folder or store, the holder and what to do.</param>
    /// <param name="lockPath">The lock file.</param>
    public WriterLockException(string message, string lockPath) : base(message) => LockPath = lockPath;

    /// <summary>The lock file that is held.</summary>
    public string LockPath { get; }
}
