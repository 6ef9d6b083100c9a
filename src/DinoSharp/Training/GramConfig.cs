namespace DinoSharp.Training;

/// <summary>
/// The <c>gram</c> section: DINOv3's Gram anchoring (dinov3/configs/ssl_default_config.yaml, dinov3/train/ssl_meta_arch.py).
/// The student's normalised patch tokens of the global crops are pulled towards the patch-similarity (Gram) matrix of a
/// frozen Gram teacher: a snapshot of the EMA teacher taken before step <see cref="ItLoadEmaTeacher"/> (or loaded from
/// <see cref="Ckpt"/>), refreshed from the EMA teacher after every step s with s + 1 ≥ <see cref="ItFirstUpdate"/> and
/// s + 1 a multiple of <see cref="UpdateFrequency"/>, at most <see cref="MaxUpdates"/> times; or the EMA teacher itself
/// (<see cref="EmaTeacher"/>). Names and defaults are the reference's.
/// </summary>
/// <remarks>
/// Two differences from the reference, both because this data pipeline has no separate Gram-teacher crops
/// (crops.gram_teacher_crops_size): the Gram teacher sees the student's global crops (unmasked), so its patch grid is the
/// student's and <see cref="GlobalTeacherResizeMethod"/> only matters for a teacher of another patch size; and before
/// its snapshot exists the Gram term is 0 (the reference raises at the first step unless the snapshot is loaded then).
/// </remarks>
public sealed record GramConfig
{
    /// <summary>Add the Gram loss to the objective (false).</summary>
    public bool UseLoss { get; init; }
    /// <summary>Weight of the Gram loss in the total (1).</summary>
    public double LossWeight { get; init; } = 1.0;
    /// <summary>Use the EMA teacher's patch tokens as the Gram targets instead of a frozen snapshot (false); needs <see cref="RepUpdate"/> false.</summary>
    public bool EmaTeacher { get; init; }
    /// <summary>A backbone file (Meta layout) for the first Gram teacher, instead of the EMA snapshot (null).</summary>
    public string? Ckpt { get; init; }
    /// <summary>Step before which the EMA teacher is copied into the Gram teacher (−1: never; then <see cref="Ckpt"/> is needed).</summary>
    public long ItLoadEmaTeacher { get; init; } = -1;
    /// <summary>Refresh the Gram teacher from the EMA teacher every <see cref="UpdateFrequency"/> steps (true).</summary>
    public bool RepUpdate { get; init; } = true;
    /// <summary>Steps between refreshes (50000).</summary>
    public long UpdateFrequency { get; init; } = 50000;
    /// <summary>No refresh before this step count (0).</summary>
    public long ItFirstUpdate { get; init; }
    /// <summary>At most this many refreshes (null: unlimited).</summary>
    public int? MaxUpdates { get; init; }
    /// <summary>L2-normalise each patch token before the Gram matrices (true).</summary>
    public bool Normalized { get; init; } = true;
    /// <summary>Gram matrices per image (true) or over all patches of the local batch (false, the reference default).</summary>
    public bool ImgLevel { get; init; }
    /// <summary>Zero the negative similarities of both matrices (false).</summary>
    public bool RemoveNeg { get; init; }
    /// <summary>Zero the negative similarities of the teacher's matrix only (false).</summary>
    public bool RemoveOnlyTeacherNeg { get; init; }
    /// <summary>Which patches enter the loss: "all", "masked" or "unmasked" (iBOT's mask; the last two need <see cref="ImgLevel"/> false).</summary>
    public string TokensUsed { get; init; } = "all";
    /// <summary>How Gram-teacher patch features on another grid are resized to the student's: "bicubic", "bilinear" or "nearest".</summary>
    public string GlobalTeacherResizeMethod { get; init; } = "bicubic";
    /// <summary>Antialias that resize (false).</summary>
    public bool GlobalTeacherResizeAntialias { get; init; }

    /// <summary>Checks the section (only when <see cref="UseLoss"/>), naming the first offending key.</summary>
    /// <exception cref="ConfigException">A value out of range, or a schedule that refers to a Gram teacher snapshot before it exists.</exception>
    public void Validate()
    {
        if (!UseLoss) return;
        static void Check(bool ok, string key, object? value, string allowed)
        {
            if (!ok) throw new ConfigException($"gram.{key} = {value ?? "null"}: {allowed}.");
        }
        Check(LossWeight >= 0 && double.IsFinite(LossWeight), "loss_weight", LossWeight, "must be a finite number ≥ 0");
        Check(!(RemoveNeg && RemoveOnlyTeacherNeg), "remove_only_teacher_neg", true, "contradicts gram.remove_neg = true; set one of them");
        Check(TokensUsed is "all" or "masked" or "unmasked", "tokens_used", TokensUsed, "must be all, masked or unmasked");
        Check(TokensUsed == "all" || !ImgLevel, "tokens_used", TokensUsed, "selects patches across images, so it needs gram.img_level = false");
        Check(GlobalTeacherResizeMethod is "bicubic" or "bilinear" or "nearest", "global_teacher_resize_method", GlobalTeacherResizeMethod, "must be bicubic, bilinear or nearest");
        if (EmaTeacher)
        {
            Check(Ckpt is null, "ckpt", Ckpt, "cannot be used with gram.ema_teacher = true (the EMA teacher is the Gram teacher)");
            Check(!RepUpdate, "rep_update", RepUpdate, "must be false with gram.ema_teacher = true (there is no snapshot to refresh)");
            return;
        }
        Check(Ckpt is not null || ItLoadEmaTeacher >= 0, "it_load_ema_teacher", ItLoadEmaTeacher,
            "the Gram teacher snapshot would never exist: set the step to take it at (≥ 0), a gram.ckpt, or gram.ema_teacher = true");
        if (!RepUpdate) return;
        Check(UpdateFrequency >= 1, "update_frequency", UpdateFrequency, "must be at least 1");
        Check(MaxUpdates is null or >= 0, "max_updates", MaxUpdates, "must be ≥ 0 (or null for unlimited)");
        Check(ItFirstUpdate >= 0, "it_first_update", ItFirstUpdate, "must be ≥ 0");
        // The first refresh comes after step u − 1, u the first multiple of update_frequency ≥ max(it_first_update, 1).
        long firstRefresh = (Math.Max(ItFirstUpdate, 1) + UpdateFrequency - 1) / UpdateFrequency * UpdateFrequency;
        Check(Ckpt is not null || firstRefresh > ItLoadEmaTeacher, "it_first_update", ItFirstUpdate,
            $"the first refresh (after step {firstRefresh - 1}) would refresh a Gram teacher snapshot before it exists (gram.it_load_ema_teacher = {ItLoadEmaTeacher}); raise it above {ItLoadEmaTeacher}");
    }
}
