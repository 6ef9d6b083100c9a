namespace DinoSharp.IO;

/// <summary>
/// A write ran out of disk space (<see cref="DiskSpace"/>): the message names the file, the free space and about how
/// much more is needed, in one line. The partial file was removed; files written earlier are untouched.
/// </summary>
public sealed class DiskFullException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line naming the path and the space needed.</param>
    /// <param name="path">The file or folder that could not be written.</param>
    /// <param name="inner">The operating system's error.</param>
    public DiskFullException(string message, string path, Exception? inner = null) : base(message, inner) => Path = path;

    /// <summary>The file or folder that could not be written.</summary>
    public string Path { get; }
}
