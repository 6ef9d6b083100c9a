using System.Security.Cryptography;
using System.Text;
using DinoSharp.Eval;

namespace DinoSharp.Server;

/// <summary>Where a store made without --store lives: a per-user cache folder, one store per model identity and data.</summary>
static class StoreLocation
{
    /// <summary>The cache root: <paramref name="root"/>, else $XDG_CACHE_HOME/dinosharp/explorer, else ~/.cache/dinosharp/explorer.</summary>
    public static string CacheRoot(string? root)
    {
        if (!string.IsNullOrWhiteSpace(root)) return root;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string baseDir = !string.IsNullOrWhiteSpace(xdg) ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(baseDir, "dinosharp", "explorer");
    }

    /// <summary>Base path of the cached store for this identity and dataset: readable name plus a hash of both.</summary>
    public static string For(string? root, ModelIdentity identity, string data)
    {
        // A bare folder path means folder:<path> (DatasetSpec): both spellings, relative or not, share one store.
        string spec = Directory.Exists(data) ? "folder:" + Path.GetFullPath(data) : data.StartsWith("folder:", StringComparison.Ordinal)
            ? "folder:" + Path.GetFullPath(data["folder:".Length..]) : data;
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity + "\n" + spec)))[..16];
        string name = new(Path.GetFileName(spec.TrimEnd('/')).Replace("folder:", "").Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        return Path.Combine(CacheRoot(root), $"{(name.Length > 0 ? name : "data")}-{key}");
    }
}
