using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>Reads a flat name → tensor map from a PyTorch .pth (zip pickle) or a safetensors file, chosen by the file's header.</summary>
public static class TensorFile
{
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

    static Dictionary<string, Tensor> ReadPth(string path)
    {
        var table = PyTorchUnpickler.UnpickleStateDict(path);
        var result = new Dictionary<string, Tensor>();
        Flatten(table, "", result);
        return result;
    }

    static void Flatten(IDictionary dict, string prefix, Dictionary<string, Tensor> into)
    {
        foreach (DictionaryEntry e in dict)
        {
            string key = prefix + e.Key;
            switch (e.Value)
            {
                case Tensor t: into[key] = t.dtype == ScalarType.Float32 || !t.is_floating_point() ? t : t.to(ScalarType.Float32); break;
                case IDictionary nested: Flatten(nested, key + ".", into); break;
            }
        }
    }

    static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
