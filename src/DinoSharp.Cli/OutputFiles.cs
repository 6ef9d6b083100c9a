using System.Text.Json;
using DinoSharp.Data;
using DinoSharp.Visualize;

namespace DinoSharp.Cli;

/// <summary>
/// Writes a command's outputs only once all of them are computed, each through <see cref="OutputPath.Write"/>, so a
/// failure leaves either the old file or the new one and never half of one.
/// </summary>
internal sealed class OutputFiles
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    readonly List<(string Path, Action<string> Write)> pending = [];

    public void AddJson(string path, object value) =>
        pending.Add((path, tmp => File.WriteAllText(tmp, JsonSerializer.Serialize(value, Indented))));

    public void AddPng(string path, RgbImage image) => pending.Add((path, tmp => Png.Save(image, tmp)));

    /// <summary>Creates the folders, then writes and renames every file in the order added (see <see cref="OutputPath.Write"/>).</summary>
    public IReadOnlyList<string> Commit()
    {
        var written = new List<string>();
        foreach (var (path, write) in pending)
        {
            OutputPath.Write(path, write);
            written.Add(path);
        }
        pending.Clear();
        return written;
    }
}
