using System.Collections;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>Reads a flat name → tensor map from a PyTorch .pth (zip pickle) or a safetensors file, chosen by the file's header.</summary>
public static class TensorFile
{
    /// <summary>Whether <paramref name="path"/> starts with a zip signature ("PK\x03\x04"), as PyTorch's .pth files do.</summary>
    public static bool IsPyTorchZip(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return fs.Read(head) == 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;
    }

    /// <summary>All tensors in the file; nested dictionaries of a .pth are flattened with "." (e.g. model.teacher.backbone.norm.weight → kept as written inside "model").</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found.");
        if (new FileInfo(path).Length == 0) throw new CheckpointException($"{path}: empty file, not a checkpoint.");
        try
        {
            if (IsPyTorchZip(path)) return ReadPth(path);
            return SafetensorsFile.Load(path);
        }
        catch (CheckpointException) { throw; }
        catch (InvalidDataException e) when (!IsPyTorchZip(path))
        {
            throw new CheckpointException($"{path}: neither a PyTorch checkpoint (zip) nor a safetensors file ({FirstLine(e.Message.Replace(path + ": ", ""))}).", e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CheckpointException($"{path}: cannot read the PyTorch checkpoint; it is truncated or corrupt ({FirstLine(e.Message)}).", e);
        }
    }

    /// <summary>A .pth is untrusted input: it is read with an allow-list of globals (PyTorch's weights_only semantics).</summary>
    static Dictionary<string, Tensor> ReadPth(string path)
    {
        if (WeightsOnlyUnpickler.Load(path) is not IDictionary table)
            throw new CheckpointException($"{path}: the checkpoint holds no dictionary of tensors.");
        var result = new Dictionary<string, Tensor>();
        long budget = 10_000_000;
        Flatten(table, "", result, 0, ref budget);
        return result;
    }

    static void Flatten(IDictionary dict, string prefix, Dictionary<string, Tensor> into, int depth, ref long budget)
    {
        // A pickle can make a dict contain itself, or the same dict many times over (memo references): depth and the
        // number of entries visited are bounded.
        if (depth > 64 || (budget -= dict.Count) < 0)
            throw new CheckpointException($"the checkpoint's dictionaries nest cyclically or too deeply (at '{prefix.TrimEnd('.')}').");
        foreach (DictionaryEntry e in dict)
        {
            string key = prefix + e.Key;
            switch (e.Value)
            {
                case Tensor t: into[key] = t.dtype == ScalarType.Float32 || !t.is_floating_point() ? t : t.to(ScalarType.Float32); break;
                case IDictionary nested: Flatten(nested, key + ".", into, depth + 1, ref budget); break;
            }
        }
    }

    static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
