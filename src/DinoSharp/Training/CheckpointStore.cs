using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

using DinoSharp.IO;

namespace DinoSharp.Training;

/// <summary>What a checkpoint folder's state.json records besides the tensors.</summary>
public sealed record CheckpointState
{
    /// <summary>Training steps completed; a resume continues with this step.</summary>
    public long Step { get; init; }
    /// <summary>SHA-256 of every other file in the checkpoint folder, checked before the checkpoint is trusted.</summary>
    public Dictionary<string, string> Files { get; init; } = [];
    /// <summary>The latest online kNN top-1 of the teacher when written (in [0, 1]), or null; pruning always keeps the best.</summary>
    public double? KnnTop1 { get; init; }
    /// <summary>Distinct unreadable images skipped by the loader so far.</summary>
    public long SkippedImages { get; init; }
    /// <summary>Hex SHA-256 of the resolved config; a resume with a different config is refused.</summary>
    public string ConfigSha256 { get; init; } = "";
    /// <summary>When the checkpoint was written (UTC).</summary>
    public DateTimeOffset Written { get; init; }
}

/// <summary>
/// Checkpoints as folders checkpoints/step_NNNNNNNN/: files are written into a temporary folder, flushed to disk, hashed
/// into state.json, then the folder is renamed into place (a rename is atomic), so a killed process never leaves a
/// half-written checkpoint under a final name. Older checkpoints are deleted only after the new one verified, and are
/// renamed to a temporary name before their files are deleted, so a kill while pruning leaves no half-deleted one either.
/// A checkpoint of a step is immutable: writing a step that already has a valid checkpoint keeps the existing one.
/// </summary>
public sealed class CheckpointStore
{
    const string Prefix = "step_";
    const string StateFile = "state.json";
    const string TempPrefix = ".tmp_";

    /// <summary>
    /// Test hook: "point:step[:milliseconds]" makes <see cref="Write"/> of that step print a line to stderr at the named
    /// point (started, written, hashed, renamed) and sleep (default 60 s), so a test can kill the process mid-write.
    /// </summary>
    public const string TestPauseVariable = "DINOSHARP_TEST_PAUSE_IN_CHECKPOINT_WRITE";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    readonly Action<string> warn;

    /// <summary>A store in <paramref name="folder"/> (created if missing).</summary>
    /// <param name="folder">The checkpoints/ folder of a run.</param>
    /// <param name="keepLast">Newest checkpoints to keep (train.keep_checkpoints), at least 1; the best by online kNN is kept as well.</param>
    /// <param name="warn">Receives a line for every checkpoint found invalid; null discards them.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepLast"/> is below 1.</exception>
    public CheckpointStore(string folder, int keepLast, Action<string>? warn = null)
    {
        if (keepLast < 1) throw new ArgumentOutOfRangeException(nameof(keepLast), keepLast, "train.keep_checkpoints must be at least 1.");
        Folder = folder;
        KeepLast = keepLast;
        this.warn = warn ?? (_ => { });
        Directory.CreateDirectory(folder);
    }

    /// <summary>The folder holding the step_NNNNNNNN checkpoint folders.</summary>
    public string Folder { get; }
    /// <summary>Newest checkpoints kept when pruning (plus the best by online kNN).</summary>
    public int KeepLast { get; }

    /// <summary>Minimum free space asked for before writing, as a multiple of the last checkpoint's size.</summary>
    public const double FreeSpaceFactor = 1.5;

    /// <summary>Writes a checkpoint: <paramref name="writeFiles"/> fills the given temporary folder.</summary>
    public string Write(long step, Action<string> writeFiles, CheckpointState state)
    {
        string final = Path.Combine(Folder, $"{Prefix}{step:D8}");
        if (Directory.Exists(final))
        {
            if (Verify(final) is not null) return final;
            warn($"Checkpoint {final} is incomplete or corrupt; writing it again.");
            RemoveAtomically(final);
        }
        CheckFreeSpace();
        string tmp = Path.Combine(Folder, $"{TempPrefix}{Prefix}{step:D8}_{Environment.ProcessId}");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        // A full disk: the temporary folder goes, the previous checkpoints stay, one line names the folder and the space needed.
        DiskSpace.Write(final, tmp, () =>
        {
            Directory.CreateDirectory(tmp);
            TestPause("started", step);
            writeFiles(tmp);
            TestPause("written", step);
            var files = Directory.GetFiles(tmp).Select(Path.GetFileName).Where(f => f != StateFile).ToList();
            var hashes = files.ToDictionary(f => f!, f => Sha256(Path.Combine(tmp, f!)));
            var full = state with { Step = step, Files = hashes, Written = DateTimeOffset.UtcNow };
            File.WriteAllText(Path.Combine(tmp, StateFile), JsonSerializer.Serialize(full, Json));
            TestPause("hashed", step);
            foreach (var f in Directory.GetFiles(tmp)) FlushToDisk(f);
            FlushDirectory(tmp);
            Directory.Move(tmp, final);
        }, LastCheckpointSize());
        FlushDirectory(Folder);   // the rename itself reaches the disk: a power cut now leaves step_N, not the temporary name
        TestPause("renamed", step);
        if (Verify(final) is null)
            throw new IOException($"{final}: the checkpoint just written does not verify; the previous checkpoints were kept.");
        Prune();
        return final;
    }

    /// <summary>The newest checkpoint that verifies; corrupt newer ones are skipped with a warning.</summary>
    public (string Path, CheckpointState State)? Latest()
    {
        foreach (var dir in List().OrderByDescending(d => d))
        {
            var state = Verify(dir);
            if (state is not null) return (dir, state);
            warn($"Checkpoint {dir} is incomplete or corrupt (checksum mismatch); skipping it.");
        }
        return null;
    }

    /// <summary>The checkpoint's state if every file exists and matches its recorded SHA-256, else null.</summary>
    public static CheckpointState? Verify(string dir)
    {
        try
        {
            var statePath = Path.Combine(dir, StateFile);
            if (!File.Exists(statePath)) return null;
            var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(statePath), Json);
            if (state is null || state.Files.Count == 0) return null;
            foreach (var (file, hash) in state.Files)
            {
                var path = Path.Combine(dir, file);
                if (!File.Exists(path) || Sha256(path) != hash) return null;
            }
            return state;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    IEnumerable<string> List() =>
        Directory.GetDirectories(Folder, Prefix + "*").Where(d => !Path.GetFileName(d).StartsWith('.'));

    /// <summary>Every folder under a final checkpoint name (valid or not).</summary>
    public IReadOnlyList<string> FinalFolders() => List().Order().ToList();

    /// <summary>Keeps the newest <see cref="KeepLast"/> checkpoints and the one with the best online kNN.</summary>
    void Prune()
    {
        var all = List().Select(d => (Dir: d, State: Verify(d))).Where(x => x.State is not null).OrderByDescending(x => x.Dir).ToList();
        var keep = all.Take(KeepLast).Select(x => x.Dir).ToHashSet();
        var best = all.Where(x => x.State!.KnnTop1 is not null).OrderByDescending(x => x.State!.KnnTop1).FirstOrDefault();
        if (best.Dir is not null) keep.Add(best.Dir);
        foreach (var (dir, _) in all)
            if (!keep.Contains(dir)) RemoveAtomically(dir);
        foreach (var tmp in Directory.GetDirectories(Folder, TempPrefix + "*"))
            Directory.Delete(tmp, true);
    }

    /// <summary>Renames a checkpoint folder out of the final names (atomic), then deletes it.</summary>
    void RemoveAtomically(string dir)
    {
        string doomed = Path.Combine(Folder, $"{TempPrefix}delete_{Path.GetFileName(dir)}_{Environment.ProcessId}");
        if (Directory.Exists(doomed)) Directory.Delete(doomed, true);
        Directory.Move(dir, doomed);
        Directory.Delete(doomed, true);
    }

    static void TestPause(string point, long step)
    {
        if (Environment.GetEnvironmentVariable(TestPauseVariable) is not { Length: > 0 } spec) return;
        var parts = spec.Split(':');
        if (parts.Length < 2 || parts[0] != point || !long.TryParse(parts[1], out long at) || at != step) return;
        int ms = parts.Length > 2 && int.TryParse(parts[2], out int m) ? m : 60_000;
        Console.Error.WriteLine($"[test] checkpoint write at {point}, step {step}");
        Console.Error.Flush();
        Thread.Sleep(ms);
    }

    void CheckFreeSpace()
    {
        long size = LastCheckpointSize();
        if (size == 0) return;
        long free = DiskSpace.FreeBytes(Folder);
        if (free >= 0 && free < size * FreeSpaceFactor)
            throw DiskSpace.Full(Folder, (long)(size * FreeSpaceFactor));
    }

    long LastCheckpointSize() => List().OrderByDescending(d => d).FirstOrDefault() is { } last ? DiskSpace.SizeOf(last) : 0;

    static void FlushToDisk(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Flush(flushToDisk: true);
    }

    [DllImport("libc", SetLastError = true)] static extern int open(string path, int flags);
    [DllImport("libc", SetLastError = true)] static extern int fsync(int fd);
    [DllImport("libc")] static extern int close(int fd);

    /// <summary>fsync of a directory (its entries: created files, a rename), which .NET's file API cannot open; Linux only.</summary>
    static void FlushDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = open(dir, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"{dir}: cannot open the folder to flush it to disk (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"{dir}: flushing the folder to disk failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>Lower-case hex SHA-256 of the file at <paramref name="path"/>.</summary>
    public static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }
}
