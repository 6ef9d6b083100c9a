namespace DinoSharp.Cli;

/// <summary>
/// The one rule for everything `dino` writes: missing folders are created, the place is checked to be writable before
/// any work starts, and each file (or folder) is written under a temporary name beside it and renamed into place, so a
/// failure leaves the old output or the new one, never half of one.
/// </summary>
internal static class OutputPath
{
    /// <summary>Checks that the file <paramref name="path"/> (given by <paramref name="option"/>) can be written: creates its folder and writes a probe file there.</summary>
    public static void CheckFile(string option, string? path)
    {
        if (path is null) return;
        if (string.IsNullOrWhiteSpace(path)) throw new UserErrorException($"{option} is empty: give a file to write.");
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new UserErrorException($"{option} {path}: is a folder; give a file name, e.g. {Path.Combine(path, "result" + DefaultExtension(option))}.");
        Probe(option, path, Path.GetDirectoryName(full)!);
    }

    /// <summary>Checks that the folder <paramref name="path"/> can be written into: creates it and writes a probe file in it.</summary>
    public static void CheckFolder(string option, string? path)
    {
        if (path is null) return;
        if (string.IsNullOrWhiteSpace(path)) throw new UserErrorException($"{option} is empty: give a folder to write into.");
        string full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new UserErrorException($"{option} {path}: is a file; give a folder.");
        Probe(option, path, full);
    }

    static void Probe(string option, string path, string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, $".dino-write-check-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserErrorException($"{option} {path}: cannot write in {folder} ({Reason(e)}).");
        }
    }

    static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        PathTooLongException => "path too long",
        _ => e.Message.TrimEnd('.'),
    };

    static string DefaultExtension(string option) => option is "--json" ? ".json" : option is "--sheet" ? ".png" : "";

    /// <summary>
    /// Writes <paramref name="path"/> (a file, or a folder when <paramref name="write"/> makes one) atomically:
    /// <paramref name="write"/> receives a path of the same name inside a temporary folder beside the target (so
    /// extension-sensitive writers and files that name their neighbours, such as ONNX external data, work unchanged),
    /// then everything it wrote is renamed into place.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        string folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        string staging = Path.Combine(folder, $".dino-tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            write(Path.Combine(staging, Path.GetFileName(full)));
            foreach (var entry in Directory.EnumerateFileSystemEntries(staging))
                Replace(entry, Path.Combine(folder, Path.GetFileName(entry)));
        }
        finally
        {
            try { Directory.Delete(staging, recursive: true); }
            catch (DirectoryNotFoundException) { }
        }
    }

    /// <summary>Moves <paramref name="source"/> (file or folder) to <paramref name="target"/>, replacing what is there.</summary>
    static void Replace(string source, string target)
    {
        if (File.Exists(source))
        {
            File.Move(source, target, overwrite: true);
            return;
        }
        // A folder cannot be renamed over another: the old one steps aside first and goes once the new one is in place.
        string? old = Directory.Exists(target) ? target + $".old-{Guid.NewGuid():N}" : null;
        if (old is not null) Directory.Move(target, old);
        Directory.Move(source, target);
        if (old is not null) Directory.Delete(old, recursive: true);
    }
}
