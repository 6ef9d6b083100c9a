using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DinoSharp.Losses;

/// <summary>
/// The DINOv2 training objective: DINO (local and cross-global), KoLeo and iBOT terms combined with the scalings of
/// dinov2's <c>SSLMetaArch.forward_backward</c>. Owns the loss modules and their centers. Forward makes the teacher
/// targets with the CURRENT centers and does not change them; call <see cref="UpdateCenters"/> afterwards with the same
/// teacher logits (dinov2 queues exactly that update, applied before the next step's targets).
/// </summary>
public sealed class DinoV2Objective : Module<ObjectiveInputs, double, ObjectiveTerms>
{
    /// <summary>Global crops per image (2); global rows are crop-major, [2B, ...].</summary>
    public const int GlobalCrops = 2;

    private readonly DinoClsTokenLoss dino_loss;
    private readonly IbotPatchLoss ibot_patch_loss;
    private readonly KoLeoLoss koleo_loss;
    private readonly Func<Tensor, Tensor>? allReduceSum;

    /// <summary>Creates the DINO, iBOT and KoLeo loss modules (with zero centers).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A loss weight is negative.</exception>
    /// <param name="config">Weights and teacher-target settings.</param>
    /// <param name="allReduceSum">Distributed hook (all-reduce SUM across processes) for the centers and Sinkhorn-Knopp; null for one process.</param>
    public DinoV2Objective(ObjectiveConfig config, Func<Tensor, Tensor>? allReduceSum = null) : base(nameof(DinoV2Objective))
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.DinoLossWeight < 0 || config.IbotLossWeight < 0 || config.KoLeoLossWeight < 0)
            throw new ArgumentOutOfRangeException(nameof(config), "Loss weights must be non-negative.");
        Config = config;
        dino_loss = new DinoClsTokenLoss(config.OutDim, config.StudentTemp, config.CenterMomentum);
        ibot_patch_loss = new IbotPatchLoss(config.IbotOutDim ?? config.OutDim, config.StudentTemp, config.CenterMomentum);
        koleo_loss = new KoLeoLoss();
        this.allReduceSum = allReduceSum;
        RegisterComponents();
    }

    /// <summary>Loss weights, prototype counts, temperatures and centering mode.</summary>
    public ObjectiveConfig Config { get; }
    /// <summary>The class-token DINO loss and its center (state-dict prefix <c>dino_loss</c>).</summary>
    public DinoClsTokenLoss DinoLoss => dino_loss;
    /// <summary>The masked-patch iBOT loss and its center (state-dict prefix <c>ibot_patch_loss</c>).</summary>
    public IbotPatchLoss IbotLoss => ibot_patch_loss;

    bool DoDino => Config.DinoLossWeight > 0;
    bool DoKoLeo => DoDino && Config.KoLeoLossWeight > 0;  // dinov2 computes KoLeo inside the DINO branch
    bool DoIbot => Config.IbotLossWeight > 0;

    /// <summary>All terms for one step at teacher temperature <paramref name="teacherTemp"/>.</summary>
    public override ObjectiveTerms forward(ObjectiveInputs inputs, double teacherTemp)
    {
        var (batch, localCrops) = Validate(inputs);
        using var scope = torch.NewDisposeScope();
        var studentGlobal = inputs.StudentGlobalCls;
        Tensor Zero() => torch.zeros([], studentGlobal.dtype, studentGlobal.device);

        // Teacher targets [2B, K], crop-major.
        var teacherProbs = Config.Centering == TeacherCentering.Centering
            ? dino_loss.SoftmaxCenterTeacher(inputs.TeacherGlobalCls, teacherTemp)
            : dino_loss.SinkhornKnoppTeacher(inputs.TeacherGlobalCls, teacherTemp, Config.SinkhornIterations, allReduceSum);
        var teacherChunks = teacherProbs.chunk(GlobalCrops);

        // n = G(G−1) cross-global pairs + G·L (local, global) pairs; dinov2 floors the local count at 1 (so n = 3 when L = 0).
        int lossTerms = (GlobalCrops - 1) * GlobalCrops + Math.Max(localCrops * GlobalCrops, 1);

        var dinoLocal = Zero();
        if (localCrops > 0)
            dinoLocal = Config.DinoLossWeight * dino_loss.call(inputs.StudentLocalCls!.chunk(localCrops), teacherChunks) / lossTerms;

        var dinoGlobal = Zero();
        var koleo = Zero();
        if (DoDino)
        {
            // Each student global crop is matched to the OTHER crop's target: teacher rows are swapped crop-wise. The
            // ×2 (dinov2's loss_scales) undoes the mean over 2B rows, which averages the G(G−1) = 2 pair terms.
            var swapped = torch.cat([teacherChunks[1], teacherChunks[0]]);
            dinoGlobal = Config.DinoLossWeight * dino_loss.call([studentGlobal], [swapped]) * 2.0 / lossTerms;
            if (DoKoLeo)
            {
                // Within one crop only: the two crops of the same image are not each other's neighbours.
                var chunks = inputs.StudentGlobalClsTokens!.chunk(GlobalCrops);
                koleo = Config.KoLeoLossWeight * (koleo_loss.call(chunks[0]) + koleo_loss.call(chunks[1]));
            }
        }

        var ibot = Zero();
        if (DoIbot)
        {
            long masked = inputs.MaskedPatchCount ?? inputs.StudentMaskedPatches!.shape[0];
            var teacherMasked = inputs.TeacherMaskedPatches!.narrow(0, 0, masked);
            var ibotTargets = Config.Centering == TeacherCentering.Centering
                ? ibot_patch_loss.SoftmaxCenterTeacher(teacherMasked, teacherTemp)
                : ibot_patch_loss.SinkhornKnoppTeacher(teacherMasked, teacherTemp, masked, Config.SinkhornIterations, allReduceSum);
            var studentMasked = inputs.StudentMaskedPatches!.narrow(0, 0, masked);
            // ×2 (loss_scales) × 1/G (ibot_loss_scale), i.e. ×1 for G = 2, kept explicit to mirror dinov2.
            ibot = Config.IbotLossWeight * ibot_patch_loss.ForwardMasked(studentMasked, ibotTargets, inputs.Masks!, masked, inputs.MasksWeight)
                   * 2.0 * (1.0 / GlobalCrops);
        }

        var total = dinoLocal + dinoGlobal + koleo + ibot;
        Tensor entropy, centerNorm;
        using (torch.no_grad())
        {
            entropy = SoftCrossEntropy.MeanEntropy(teacherProbs);
            centerNorm = dino_loss.Center.norm();
        }
        return new ObjectiveTerms(
            total.MoveToOuterDisposeScope(),
            dinoLocal.MoveToOuterDisposeScope(),
            dinoGlobal.MoveToOuterDisposeScope(),
            koleo.MoveToOuterDisposeScope(),
            ibot.MoveToOuterDisposeScope(),
            entropy.MoveToOuterDisposeScope(),
            centerNorm.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// After the step: move the centers towards this step's teacher logits (global cls [2B, K] and masked patches
    /// [M, K], M = <paramref name="maskedPatchCount"/> rows or all). Does nothing with Sinkhorn-Knopp targets, as dinov2.
    /// </summary>
    public void UpdateCenters(Tensor teacherGlobalCls, Tensor? teacherMaskedPatches = null, long? maskedPatchCount = null)
    {
        ArgumentNullException.ThrowIfNull(teacherGlobalCls);
        if (Config.Centering != TeacherCentering.Centering) return;
        dino_loss.UpdateCenter(teacherGlobalCls, allReduceSum);
        if (DoIbot && teacherMaskedPatches is not null)
        {
            using var rows = teacherMaskedPatches.narrow(0, 0, maskedPatchCount ?? teacherMaskedPatches.shape[0]);
            ibot_patch_loss.UpdateCenter(rows, allReduceSum);
        }
    }

    (long Batch, int LocalCrops) Validate(ObjectiveInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var s = inputs.StudentGlobalCls;
        LossGuards.Rank(s, 2, "Student global cls logits [2B, K]", nameof(inputs));
        if (s.shape[0] == 0 || s.shape[0] % GlobalCrops != 0)
            throw new ArgumentException($"Student global cls logits {LossGuards.Shape(s)} must hold {GlobalCrops} crops of B rows each.", nameof(inputs));
        LossGuards.SameShape(s, inputs.TeacherGlobalCls, "Student and teacher global cls logits", nameof(inputs));
        long batch = s.shape[0] / GlobalCrops;

        int localCrops = 0;
        if (inputs.StudentLocalCls is { } local)
        {
            LossGuards.Rank(local, 2, "Student local cls logits [L·B, K]", nameof(inputs));
            if (local.shape[0] % batch != 0 || local.shape[1] != s.shape[1])
                throw new ArgumentException($"Student local cls logits {LossGuards.Shape(local)} must be [L·{batch}, {s.shape[1]}].", nameof(inputs));
            localCrops = (int)(local.shape[0] / batch);
        }

        if (DoKoLeo)
        {
            var tokens = inputs.StudentGlobalClsTokens
                ?? throw new ArgumentException("KoLeo is enabled: StudentGlobalClsTokens [2B, D] is required.", nameof(inputs));
            LossGuards.Rank(tokens, 2, "Student global cls tokens [2B, D]", nameof(inputs));
            if (tokens.shape[0] != s.shape[0])
                throw new ArgumentException($"Student global cls tokens {LossGuards.Shape(tokens)} must have {s.shape[0]} rows.", nameof(inputs));
        }

        if (DoIbot)
        {
            if (inputs.StudentMaskedPatches is null || inputs.TeacherMaskedPatches is null || inputs.Masks is null)
                throw new ArgumentException("iBOT is enabled: StudentMaskedPatches, TeacherMaskedPatches and Masks are required.", nameof(inputs));
            LossGuards.Rank(inputs.Masks, 2, "Masks [2B, N]", nameof(inputs));
            if (inputs.Masks.shape[0] != s.shape[0])
                throw new ArgumentException($"Masks {LossGuards.Shape(inputs.Masks)} must have {s.shape[0]} rows (one per global crop image).", nameof(inputs));
            LossGuards.SameShape(inputs.StudentMaskedPatches, inputs.TeacherMaskedPatches, "Student and teacher masked patch logits", nameof(inputs));
            // A process of a distributed run may hold none of the batch's masked patches (it still joins the all-reduces).
            long rows = inputs.StudentMaskedPatches.shape[0];
            long least = allReduceSum is null ? 1 : 0;
            if (inputs.MaskedPatchCount < least || inputs.MaskedPatchCount > rows)
                throw new ArgumentOutOfRangeException(nameof(inputs), inputs.MaskedPatchCount, $"MaskedPatchCount must lie in [{least}, {rows}].");
        }
        return (batch, localCrops);
    }
}
