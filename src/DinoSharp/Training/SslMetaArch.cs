using DinoSharp.Data;
using DinoSharp.Losses;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>
/// Scalar values of one training step (read back once per step, after backward); the fields are those of <see cref="ObjectiveTerms"/>,
/// then the unweighted Gram loss and the weight it entered <see cref="Total"/> with (both 0 without Gram anchoring, or before its teacher exists).
/// </summary>
public sealed record StepTerms(double Total, double DinoLocal, double DinoGlobal, double Koleo, double Ibot, double TeacherEntropy, double CenterNorm,
    double Gram = 0, double GramWeight = 0);

/// <summary>
/// dinov2's SSLMetaArch: student and teacher built the same way, the teacher sees the global crops only (unmasked), the
/// student sees every crop with iBOT masks on its global crops; the objective combines DINO, iBOT and KoLeo exactly as
/// the reference does. State-dict keys: student.*, teacher.*, objective.* (the loss centers).
/// </summary>
public sealed class SslMetaArch : nn.Module
{
    readonly StudentTeacherNetwork student;
    readonly StudentTeacherNetwork teacher;
    readonly DinoV2Objective objective;
    readonly GramAnchoring? gram;
    readonly torch.Generator ropeGenerator = new(0);

    /// <summary>Builds student and teacher from <paramref name="config"/> (the teacher a copy of the student, without drop path, frozen, in eval mode) and the objective.</summary>
    /// <param name="config">The training configuration.</param>
    /// <param name="allReduceSum">
    /// Distributed runs: sums a tensor over the processes (<c>Collectives.SumAcrossRanks</c>), for the loss centers and
    /// Sinkhorn-Knopp; null for one process.
    /// </param>
    /// <exception cref="ConfigException">train.centering is neither "centering" nor "sinkhorn_knopp".</exception>
    /// <exception cref="ArgumentException">The resolved backbone is invalid (see <see cref="VisionTransformerConfig.Validate"/>).</exception>
    public SslMetaArch(DinoTrainingConfig config, Func<Tensor, Tensor>? allReduceSum = null) : base(nameof(SslMetaArch))
    {
        Config = config;
        BackboneConfig = ResolveBackbone(config);
        student = new StudentTeacherNetwork(BackboneConfig with { DropPathRate = config.Student.DropPathRate }, config.Dino, config.Ibot);
        teacher = new StudentTeacherNetwork(BackboneConfig with { DropPathRate = 0 }, config.Dino, config.Ibot);
        objective = new DinoV2Objective(new ObjectiveConfig
        {
            OutDim = config.Dino.HeadNPrototypes,
            IbotOutDim = config.Ibot.SeparateHead ? config.Ibot.HeadNPrototypes : null,
            DinoLossWeight = config.Dino.LossWeight,
            IbotLossWeight = config.Ibot.LossWeight,
            KoLeoLossWeight = config.Dino.KoleoLossWeight,
            Centering = config.Train.Centering,
        }, allReduceSum);
        register_module(nameof(student), student);
        register_module(nameof(teacher), teacher);
        register_module(nameof(objective), objective);
        if (config.Gram.UseLoss)
        {
            gram = new GramAnchoring(config.Gram, BackboneConfig);
            register_module(nameof(gram), gram);
        }

        // The teacher starts as a copy of the student and never receives gradients.
        using (torch.no_grad())
        {
            var s = student.state_dict();
            foreach (var (key, t) in teacher.state_dict()) t.copy_(s[key]);
        }
        foreach (var p in teacher.parameters()) p.requires_grad = false;
        teacher.eval();
    }

    /// <summary>The training config the model was built from.</summary>
    public DinoTrainingConfig Config { get; }
    /// <summary>The backbone after student.* overrides (<see cref="ResolveBackbone"/>); the student adds its drop-path rate, the teacher uses 0.</summary>
    public VisionTransformerConfig BackboneConfig { get; }
    /// <summary>The network trained by gradient descent (state-dict prefix <c>student</c>).</summary>
    public StudentTeacherNetwork Student => student;
    /// <summary>The EMA of the student that makes the targets; no gradients (prefix <c>teacher</c>). Its backbone is the one saved as teacher_backbone.safetensors.</summary>
    public StudentTeacherNetwork Teacher => teacher;
    /// <summary>The losses and their centers (prefix <c>objective</c>).</summary>
    public DinoV2Objective Objective => objective;

    /// <summary>Gram anchoring (prefix <c>gram</c>), or null when gram.use_loss is off.</summary>
    public GramAnchoring? Gram => gram;

    /// <summary>
    /// Before step <paramref name="step"/>: a DINOv3 student's RoPE coordinate augmentations draw from a generator seeded
    /// from train.seed and the step (the same draws in a resumed run); the Gram teacher snapshot is taken when due.
    /// </summary>
    public void BeforeStep(long step)
    {
        if (BackboneConfig.Family == BackboneFamily.Dinov3Vit)
        {
            ropeGenerator.manual_seed(Config.Train.Seed * 1_000_033L + step + 0x5EED);
            student.Backbone.RopeGenerator = ropeGenerator;
        }
        gram?.BeforeStep(step, teacher.Backbone);
    }

    /// <summary>After step <paramref name="step"/> and its EMA update: the Gram teacher is refreshed from the EMA teacher when due.</summary>
    public void AfterStep(long step) => gram?.AfterStep(step, teacher.Backbone);

    /// <summary>The backbone configuration of a training config: the named variant with the student section's overrides.</summary>
    public static VisionTransformerConfig ResolveBackbone(DinoTrainingConfig config)
    {
        var s = config.Student;
        var c = VisionTransformerVariants.Get(s.Arch);
        c = c with
        {
            PatchSize = s.PatchSize ?? c.PatchSize,
            InitValues = s.Layerscale,
            NumRegisterTokens = s.NumRegisterTokens ?? c.NumRegisterTokens,
            FfnLayer = s.FfnLayer ?? c.FfnLayer,
        };
        // The reference learns the position grid at the global crop size.
        c = c with { ImgSize = s.ImgSize ?? config.Crops.GlobalCropsSize };
        try { return c.Validate(); }
        catch (ArgumentException e) { throw new ConfigException("student: " + e.Message); }
    }

    /// <summary>
    /// Forward of teacher and student on one batch and backward of the total loss (gradients land on the student).
    /// Returns the loss terms as numbers. A <paramref name="timer"/>, when given, is charged the teacher, student-forward
    /// (with the losses) and backward phases.
    /// </summary>
    public StepTerms ForwardBackward(MultiCropBatch batch, double teacherTemp, StepTimer? timer = null)
    {
        using var scope = torch.NewDisposeScope();
        // Decided on the whole global batch, so that every process of a distributed run takes the same branches (and
        // joins the same all-reduces) even when its own shard holds no masked patch.
        bool anyMask = batch.TotalMaskedPatches > 0 && Config.Ibot.LossWeight > 0;

        // Teacher: global crops only, unmasked, eval mode, no gradients.
        Tensor teacherCls, teacherPatches, teacherPatchTokens;
        using (torch.no_grad())
        {
            var t = teacher.Backbone.ForwardFeatures(batch.GlobalCrops);
            teacherPatchTokens = t.PatchTokens;
            (teacherCls, teacherPatches) = HeadsOnClsAndMaskedPatches(teacher, t.ClsToken, t.PatchTokens, batch, anyMask);
        }
        timer?.Lap(StepPhase.Teacher);

        // Student: masked global crops, and local crops in a second forward (all crops of one size in one batch).
        var sg = student.Backbone.ForwardFeatures(batch.GlobalCrops, anyMask ? batch.Masks : null);
        var (studentGlobal, studentPatches) = HeadsOnClsAndMaskedPatches(student, sg.ClsToken, sg.PatchTokens, batch, anyMask);
        Tensor? studentLocal = null;
        if (batch.LocalCrops.numel() > 0)
        {
            var sl = student.Backbone.ForwardFeatures(batch.LocalCrops, localCrops: true);
            studentLocal = Float32(student.DinoHead.forward(sl.ClsToken));
        }

        var terms = objective.forward(new ObjectiveInputs
        {
            StudentGlobalCls = studentGlobal,
            TeacherGlobalCls = teacherCls,
            StudentLocalCls = studentLocal,
            StudentGlobalClsTokens = sg.ClsToken,
            StudentMaskedPatches = anyMask ? studentPatches : null,
            TeacherMaskedPatches = anyMask ? teacherPatches : null,
            Masks = anyMask ? batch.Masks : null,
            MasksWeight = anyMask ? batch.MasksWeight : null,
            MaskedPatchCount = anyMask ? batch.NumMaskedPatches : null,
        }, teacherTemp);
        // The targets of this step used the old centers; the reference updates them afterwards.
        objective.UpdateCenters(teacherCls, anyMask ? teacherPatches : null, anyMask ? batch.NumMaskedPatches : null);
        // DINOv3: Gram anchoring of the student's (masked-input) global patch tokens, once its teacher exists.
        var gramLoss = gram is { Ready: true } ? gram.Loss(sg.PatchTokens, teacherPatchTokens, batch.GlobalCrops, anyMask ? batch.Masks : null) : null;
        double gramWeight = gramLoss is null ? 0 : Config.Gram.LossWeight;
        var total = gramLoss is null ? terms.Total : terms.Total + gramWeight * gramLoss;
        timer?.Lap(StepPhase.StudentForward);
        total.backward();
        timer?.Lap(StepPhase.Backward);

        var values = torch.stack([total.detach(), terms.DinoLocal, terms.DinoGlobal, terms.Koleo, terms.Ibot, terms.TeacherEntropy, terms.CenterNorm,
                gramLoss?.detach() ?? torch.zeros_like(terms.DinoLocal)])
            .to(ScalarType.Float64).cpu().data<double>().ToArray();
        return new StepTerms(values[0], values[1], values[2], values[3], values[4], values[5], values[6], values[7], gramWeight);
    }

    /// <summary>Logits in float32 for the losses' softmaxes, Sinkhorn-Knopp and the centers (a bf16 region's heads return bfloat16).</summary>
    static Tensor Float32(Tensor t) => t.dtype == ScalarType.Float32 ? t : t.to(ScalarType.Float32);

    /// <summary>
    /// Cls tokens through the DINO head and the masked patch tokens through the iBOT head; with a shared head both go
    /// through it in one call, as the reference concatenates them.
    /// </summary>
    static (Tensor Cls, Tensor Patches) HeadsOnClsAndMaskedPatches(StudentTeacherNetwork net, Tensor cls, Tensor patchTokens, MultiCropBatch batch, bool anyMask)
    {
        if (!anyMask) return (Float32(net.DinoHead.forward(cls)), torch.empty(0));
        var masked = patchTokens.flatten(0, 1).index_select(0, batch.MaskIndices);     // [M, D]
        if (net.HasSeparateIbotHead)
            return (Float32(net.DinoHead.forward(cls)), Float32(net.IbotHead.forward(masked)));
        var both = Float32(net.DinoHead.forward(torch.cat([cls, masked], 0)));
        long n = cls.shape[0];
        return (both[..(int)n], both[(int)n..]);
    }
}
