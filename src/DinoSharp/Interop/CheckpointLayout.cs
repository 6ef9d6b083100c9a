namespace DinoSharp.Interop;

/// <summary>
/// The key layout of a backbone checkpoint. Always chosen by the caller (never guessed from the keys); the file container
/// (PyTorch zip pickle or safetensors) is read from the file's own header.
/// </summary>
public enum CheckpointLayout
{
    /// <summary>Meta's backbone state dict (dinov2_vit*14[_reg4]_pretrain.pth): cls_token, pos_embed, blocks.{i}.*, norm.*; chunked blocks.{chunk}.{i}.* accepted.</summary>
    Meta,
    /// <summary>A dinov2 training checkpoint: the teacher backbone under "teacher.backbone." (top level, or inside "model" / "teacher").</summary>
    MetaTrainingTeacher,
    /// <summary>A dinov2 training checkpoint: the student backbone under "student.backbone.".</summary>
    MetaTrainingStudent,
    /// <summary>Hugging Face transformers' Dinov2Model / Dinov2WithRegistersModel (embeddings.*, encoder.layer.{i}.*, layernorm.*).</summary>
    HuggingFace,
}
