namespace DinoSharp.Interop.Onnx;

/// <summary>Which normalised tokens an exported graph returns (graph output names: cls, patch, registers).</summary>
[Flags]
public enum OnnxOutputs
{
    /// <summary>No output; not valid for an export.</summary>
    None = 0,
    /// <summary>"cls": the normalised cls token [B, D] (dinov2's x_norm_clstoken).</summary>
    Cls = 1,
    /// <summary>"patch": the normalised patch tokens [B, h·w, D], row-major over the patch grid.</summary>
    Patch = 2,
    /// <summary>"registers": the normalised register tokens [B, R, D] (models with registers only).</summary>
    Registers = 4,
}
