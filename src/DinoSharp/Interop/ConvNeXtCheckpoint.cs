using DinoSharp.Models;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>Loads DINOv3 ConvNeXt weights (.pth or .safetensors, Meta's keys), checking every key and shape.</summary>
public static class ConvNeXtCheckpoint
{
    /// <summary>Reads a ConvNeXt checkpoint of the given layout and returns it in Meta's key layout (float32).</summary>
    /// <exception cref="CheckpointException">The file cannot be read, or the layout is not one a ConvNeXt comes in.</exception>
    public static Dictionary<string, Tensor> ReadMetaStateDict(string path, CheckpointLayout layout)
    {
        var raw = TensorFile.Read(path);
        return layout switch
        {
            CheckpointLayout.Meta => raw,
            _ => throw new CheckpointException($"{path}: a DINOv3 ConvNeXt is read in the Meta layout, not {layout}."),
        };
    }

    /// <summary>Loads weights into <paramref name="model"/>; every key and shape must match (the error lists all differences).</summary>
    /// <exception cref="CheckpointException">The file cannot be read or does not fit the model.</exception>
    public static void Load(ConvNeXt model, string path, CheckpointLayout layout = CheckpointLayout.Meta)
    {
        ArgumentNullException.ThrowIfNull(model);
        var dict = ReadMetaStateDict(path, layout);
        try
        {
            BackboneCheckpoint.LoadStateDict(model, dict, $"{path} ({Describe(model.Config)})");
        }
        finally
        {
            foreach (var t in dict.Values) t.Dispose();
        }
    }

    /// <summary>One line naming the architecture, for messages about mismatched checkpoints.</summary>
    public static string Describe(ConvNeXtConfig c) =>
        $"ConvNeXt(depths {string.Join("-", c.Depths)}, dims {string.Join("-", c.Dims)}, layer scale {(c.LayerScaleInitValue > 0 ? "on" : "off")})";
}
