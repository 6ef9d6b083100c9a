using DinoSharp.Models;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>
/// Loads and saves DINOv3 ConvNeXt weights, checking every key and shape: Meta's keys in a .pth or .safetensors
/// (<see cref="CheckpointLayout.Meta"/>), or Hugging Face's DINOv3ConvNextModel keys (<see cref="CheckpointLayout.HuggingFace"/>,
/// see <see cref="ConvNeXtHuggingFaceLayout"/>).
/// </summary>
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
            CheckpointLayout.HuggingFace => ConvNeXtHuggingFaceLayout.ToMeta(raw),
            _ => throw new CheckpointException($"{path}: a DINOv3 ConvNeXt comes in the Meta or Hugging Face layout, not {layout}."),
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

    /// <summary>
    /// A Hugging Face DINOv3ConvNextModel folder (config.json + model.safetensors) as a network, built from the folder's
    /// config; <paramref name="patchSize"/> sets <see cref="ConvNeXtConfig.PatchSize"/> (null: intermediate maps not resized, as Hugging Face).
    /// </summary>
    /// <exception cref="CheckpointException">A file is missing, the config is not a DINOv3ConvNextConfig, or the weights do not fit it.</exception>
    public static ConvNeXt LoadHuggingFaceFolder(string folder, int? patchSize = null)
    {
        string configPath = Path.Combine(folder, "config.json"), weights = Path.Combine(folder, "model.safetensors");
        if (!File.Exists(configPath) || !File.Exists(weights))
            throw new CheckpointException($"{folder}: not a Hugging Face model folder (needs config.json and model.safetensors).");
        var config = ConvNeXtHuggingFaceLayout.ParseConfig(File.ReadAllText(configPath), configPath, patchSize);
        var model = new ConvNeXt(config);
        try
        {
            Load(model, weights, CheckpointLayout.HuggingFace);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Writes the weights in Meta's layout, a .pth (PyTorch zip pickle) or .safetensors by extension, every key of the reference module included.</summary>
    public static void SaveMeta(ConvNeXt model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        BackboneCheckpoint.SaveMeta(model, path);
    }

    /// <summary>Writes the model as a Hugging Face DINOv3ConvNextModel folder: model.safetensors and config.json.</summary>
    /// <exception cref="CheckpointException">The model has no layer scale (Hugging Face's always has one).</exception>
    public static void SaveHuggingFace(ConvNeXt model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        string config = ConvNeXtHuggingFaceLayout.ConfigJson(model.Config);
        Directory.CreateDirectory(folder);
        var hf = ConvNeXtHuggingFaceLayout.FromMeta(model.state_dict());
        SafetensorsFile.Save(Path.Combine(folder, "model.safetensors"), hf, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), config);
    }

    /// <summary>One line naming the architecture, for messages about mismatched checkpoints.</summary>
    public static string Describe(ConvNeXtConfig c) =>
        $"ConvNeXt(depths {string.Join("-", c.Depths)}, dims {string.Join("-", c.Dims)}, layer scale {(c.LayerScaleInitValue > 0 ? "on" : "off")})";
}
