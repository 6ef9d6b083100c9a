using System.Text.Json;
using DinoSharp.Data;
using DinoSharp.Models;

namespace DinoSharp.Training;

/// <summary>
/// Checks a resolved training configuration before any work (no dataset opened, no model built): every value a user
/// can set is checked against its allowed range, and the first offence is reported as a one-line
/// <see cref="ConfigException"/> naming the key as it is written in JSON and --set (e.g. <c>crops.local_crops_size</c>).
/// </summary>
public static class TrainingConfigValidator
{
    /// <summary>Checks every user-settable value of <paramref name="config"/>, the architecture name and the crop settings.</summary>
    /// <exception cref="ConfigException">The first value out of range, naming its key.</exception>
    public static void Validate(DinoTrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var s = config.Student;
        Check(s.DropPathRate is >= 0 and < 1, "student.drop_path_rate", s.DropPathRate, "must be in [0, 1)");
        Check(s.Layerscale >= 0, "student.layerscale", s.Layerscale, "must be ≥ 0");
        Check(s.PatchSize is null or >= 1, "student.patch_size", s.PatchSize, "must be at least 1 (or null for the variant's)");
        Check(s.NumRegisterTokens is null or >= 0, "student.num_register_tokens", s.NumRegisterTokens, "must be ≥ 0");

        foreach (var (section, weight, k, layers, hidden, bottleneck) in new[]
        {
            ("dino", config.Dino.LossWeight, config.Dino.HeadNPrototypes, config.Dino.HeadNlayers, config.Dino.HeadHiddenDim, config.Dino.HeadBottleneckDim),
            ("ibot", config.Ibot.LossWeight, config.Ibot.HeadNPrototypes, config.Ibot.HeadNlayers, config.Ibot.HeadHiddenDim, config.Ibot.HeadBottleneckDim),
        })
        {
            Check(weight >= 0, section + ".loss_weight", weight, "must be ≥ 0");
            Check(k >= 1, section + ".head_n_prototypes", k, "must be at least 1");
            Check(layers >= 1, section + ".head_nlayers", layers, "must be at least 1");
            Check(hidden >= 1, section + ".head_hidden_dim", hidden, "must be at least 1");
            Check(bottleneck >= 1, section + ".head_bottleneck_dim", bottleneck, "must be at least 1");
        }
        Check(config.Dino.KoleoLossWeight >= 0, "dino.koleo_loss_weight", config.Dino.KoleoLossWeight, "must be ≥ 0");
        Check(config.Ibot.MaskSampleProbability is >= 0 and <= 1, "ibot.mask_sample_probability", config.Ibot.MaskSampleProbability, "must be in [0, 1]");
        Check(config.Ibot.MaskRatioMinMax is [var lo, var hi] && 0 <= lo && lo <= hi && hi < 1, "ibot.mask_ratio_min_max",
            $"[{string.Join(", ", config.Ibot.MaskRatioMinMax ?? [])}]", "must be [min, max] with 0 ≤ min ≤ max < 1");

        config.Gram?.Validate();
        ValidateSchedules(config);
        var o = config.Optim;
        Check(o.ClipGrad >= 0, "optim.clip_grad", o.ClipGrad, "must be ≥ 0 (0 = no clipping)");
        Check(o.PatchEmbedLrMult >= 0, "optim.patch_embed_lr_mult", o.PatchEmbedLrMult, "must be ≥ 0");
        Check(o.LayerwiseDecay is > 0 and <= 1, "optim.layerwise_decay", o.LayerwiseDecay, "must be in (0, 1]");
        Check(o.AdamwBeta1 is >= 0 and < 1, "optim.adamw_beta1", o.AdamwBeta1, "must be in [0, 1)");
        Check(o.AdamwBeta2 is >= 0 and < 1, "optim.adamw_beta2", o.AdamwBeta2, "must be in [0, 1)");

        var t = config.Train;
        Check(t.OfficialEpochLength >= 1, "train.official_epoch_length", t.OfficialEpochLength, "must be at least 1");
        Check(Enum.IsDefined(t.Centering), "train.centering", (int)t.Centering, "must be one of " + string.Join(", ", ConfigNames.Centering.Names));
        Check(Enum.IsDefined(config.Precision), "precision", (int)config.Precision, "must be one of " + string.Join(", ", ConfigNames.Precision.Names));
        Check(s.FfnLayer is null || Enum.IsDefined(s.FfnLayer.Value), "student.ffn_layer", (int?)s.FfnLayer, "must be one of " + string.Join(", ", ConfigNames.FfnLayer.Names));
        Check(t.NumWorkers >= 0, "train.num_workers", t.NumWorkers, "must be ≥ 0 (0 = automatic)");
        Check(t.LogEvery >= 1, "train.log_every", t.LogEvery, "must be at least 1");
        Check(t.CheckpointEvery >= 1, "train.checkpoint_every", t.CheckpointEvery, "must be at least 1");
        Check(t.KeepCheckpoints >= 1, "train.keep_checkpoints", t.KeepCheckpoints, "must be at least 1");
        Check(t.KnnEvery >= 0, "train.knn_every", t.KnnEvery, "must be ≥ 0 (0 = off)");
        Check(t.KnnTrainImages >= 1, "train.knn_train_images", t.KnnTrainImages, "must be at least 1");
        Check(t.KnnTestImages >= 1, "train.knn_test_images", t.KnnTestImages, "must be at least 1");
        Check(t.CollapseEntropyFraction is >= 0 and <= 1, "train.collapse_entropy_fraction", t.CollapseEntropyFraction, "must be in [0, 1]");
        Check(t.CollapsePatience >= 0, "train.collapse_patience", t.CollapsePatience, "must be ≥ 0 (0 = never stop)");
        Check(!string.IsNullOrWhiteSpace(t.Dataset), "train.dataset", "''", "must name a dataset: " + DatasetSpec.AcceptedForms);

        // Crops first: the backbone's position grid is derived from crops.global_crops_size.
        int patchSize;
        try { patchSize = s.PatchSize ?? VisionTransformerVariants.Get(s.Arch).PatchSize; }
        catch (ArgumentException e) { throw new ConfigException($"student.arch = '{s.Arch}': {e.Message}"); }
        try { config.Crops.Validate(patchSize); }
        catch (ArgumentException e) { throw new ConfigException(CropMessage(e)); }
        SslMetaArch.ResolveBackbone(config);
    }

    /// <summary>
    /// The rules for what the schedules are built from (the <c>teacher</c> and <c>optim</c> schedule keys and
    /// <c>train.batch_size</c>): part of <see cref="Validate"/>, and what <see cref="ScheduleConfig.For"/> checks, so
    /// nothing passes validation and then fails while the schedules are built. The teacher temperatures are checked
    /// here and nowhere else in the configuration.
    /// </summary>
    /// <exception cref="ConfigException">The first value out of range, naming its key.</exception>
    public static void ValidateSchedules(DinoTrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var te = config.Teacher;
        Check(te.MomentumTeacher is >= 0 and <= 1, "teacher.momentum_teacher", te.MomentumTeacher, "must be in [0, 1]");
        Check(te.FinalMomentumTeacher is >= 0 and <= 1, "teacher.final_momentum_teacher", te.FinalMomentumTeacher, "must be in [0, 1]");
        Check(te.WarmupTeacherTemp > 0 && double.IsFinite(te.WarmupTeacherTemp), "teacher.warmup_teacher_temp", te.WarmupTeacherTemp, "must be positive and finite");
        Check(te.TeacherTemp > 0 && double.IsFinite(te.TeacherTemp), "teacher.teacher_temp", te.TeacherTemp, "must be positive and finite");
        Check(te.WarmupTeacherTempEpochs >= 0, "teacher.warmup_teacher_temp_epochs", te.WarmupTeacherTempEpochs, "must be ≥ 0");

        var o = config.Optim;
        Check(o.Epochs >= 1, "optim.epochs", o.Epochs, "must be at least 1");
        Check(o.BaseLr > 0 && double.IsFinite(o.BaseLr), "optim.base_lr", o.BaseLr, "must be positive and finite");
        Check(o.MinLr >= 0 && double.IsFinite(o.MinLr), "optim.min_lr", o.MinLr, "must be finite and ≥ 0");
        Check(o.WeightDecay >= 0 && double.IsFinite(o.WeightDecay), "optim.weight_decay", o.WeightDecay, "must be finite and ≥ 0");
        Check(o.WeightDecayEnd >= 0 && double.IsFinite(o.WeightDecayEnd), "optim.weight_decay_end", o.WeightDecayEnd, "must be finite and ≥ 0");
        Check(o.WarmupEpochs >= 0 && o.WarmupEpochs <= o.Epochs, "optim.warmup_epochs", o.WarmupEpochs, $"must be in [0, optim.epochs = {o.Epochs}]");
        Check(o.FreezeLastLayerEpochs >= 0, "optim.freeze_last_layer_epochs", o.FreezeLastLayerEpochs, "must be ≥ 0");
        Check(Enum.IsDefined(o.ScalingRule), "optim.scaling_rule", (int)o.ScalingRule, "must be one of " + string.Join(", ", ConfigNames.ScalingRule.Names));
        Check(config.Train.BatchSize >= 1, "train.batch_size", config.Train.BatchSize, "must be at least 1");
        double peak = o.ScaledLr(config.Train.BatchSize);
        Check(double.IsFinite(peak), "optim.base_lr", o.BaseLr, $"scaled by {ConfigNames.ScalingRule.NameOf(o.ScalingRule)} for train.batch_size = {config.Train.BatchSize} gives {peak}, which is not finite");
    }

    static void Check(bool ok, string key, object? value, string allowed)
    {
        if (!ok) throw new ConfigException($"{key} = {value ?? "null"}: {allowed}.");
    }

    /// <summary>CropConfig names its properties in C#; the user wrote snake_case keys.</summary>
    static string CropMessage(ArgumentException e)
    {
        string message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
        foreach (var property in typeof(CropConfig).GetProperties().OrderByDescending(p => p.Name.Length))
            message = message.Replace(property.Name, JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name), StringComparison.Ordinal);
        return message.StartsWith("crops.", StringComparison.Ordinal) ? message : "crops: " + message;
    }
}
