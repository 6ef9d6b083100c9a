using DinoSharp.Interop;
using DinoSharp.Losses;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>
/// DINOv3's Gram anchoring inside <see cref="SslMetaArch"/> (state-dict prefix <c>gram</c>): the frozen Gram teacher
/// backbone (<c>gram_teacher.*</c>, absent with gram.ema_teacher), its schedule state (<c>gram_state</c> = [snapshot
/// taken, refreshes done], so a resumed run continues exactly) and the <see cref="GramLoss"/>. See <see cref="GramConfig"/>
/// for when the snapshot is taken and refreshed.
/// </summary>
public sealed class GramAnchoring : nn.Module
{
    readonly DinoVisionTransformer? gram_teacher;
    readonly Tensor gram_state;
    readonly GramLoss loss;

    /// <summary>Builds the Gram teacher like the EMA teacher (no drop path, frozen, eval mode), loading gram.ckpt when given.</summary>
    /// <exception cref="CheckpointException">gram.ckpt cannot be read or does not fit the backbone.</exception>
    public GramAnchoring(GramConfig config, VisionTransformerConfig backbone) : base(nameof(GramAnchoring))
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(backbone);
        Config = config;
        loss = new GramLoss(config.Normalized, config.ImgLevel, config.RemoveNeg, config.RemoveOnlyTeacherNeg);
        gram_state = torch.zeros(2, ScalarType.Int64);
        if (!config.EmaTeacher)
        {
            gram_teacher = new DinoVisionTransformer(backbone with { DropPathRate = 0 });
            foreach (var p in gram_teacher.parameters()) p.requires_grad = false;
            gram_teacher.eval();
            register_module(nameof(gram_teacher), gram_teacher);
            if (config.Ckpt is { } ckpt)
            {
                BackboneCheckpoint.Load(gram_teacher, ckpt, CheckpointLayout.Meta);
                gram_state[0] = torch.tensor(1L);
            }
        }
        register_buffer(nameof(gram_state), gram_state);
    }

    /// <summary>The gram section this was built from.</summary>
    public GramConfig Config { get; }

    /// <summary>Whether the Gram targets exist: always with the EMA teacher, else once the snapshot was taken or loaded.</summary>
    public bool Ready => gram_teacher is null || gram_state[0].item<long>() != 0;

    /// <summary>How many times the snapshot was refreshed from the EMA teacher.</summary>
    public long Refreshes => gram_state[1].item<long>();

    /// <summary>Before step <paramref name="step"/>: takes the snapshot of the EMA <paramref name="teacher"/> when the step is gram.it_load_ema_teacher.</summary>
    public void BeforeStep(long step, DinoVisionTransformer teacher)
    {
        if (gram_teacher is null || step != Config.ItLoadEmaTeacher) return;
        CopyFrom(teacher);
        gram_state[0] = torch.tensor(1L);
    }

    /// <summary>After step <paramref name="step"/> (and its EMA update): refreshes the snapshot from <paramref name="teacher"/> when the schedule says so.</summary>
    public void AfterStep(long step, DinoVisionTransformer teacher)
    {
        var c = Config;
        if (gram_teacher is null || !c.RepUpdate || step + 1 < c.ItFirstUpdate || (step + 1) % c.UpdateFrequency != 0) return;
        if (c.MaxUpdates is { } max && Refreshes >= max) return;
        CopyFrom(teacher);
        gram_state[1] = torch.tensor(Refreshes + 1);
    }

    /// <summary>
    /// The unweighted Gram loss of the student's normalised patch tokens of the global crops [B, N, D] against the Gram
    /// teacher's on the same (unmasked) crops, or against <paramref name="emaTeacherPatches"/> with gram.ema_teacher;
    /// gram.tokens_used selects patches with the iBOT <paramref name="masks"/> [B, N] (true = masked).
    /// </summary>
    public Tensor Loss(Tensor studentPatches, Tensor emaTeacherPatches, Tensor globalCrops, Tensor? masks)
    {
        using var scope = torch.NewDisposeScope();
        Tensor teacherPatches;
        if (gram_teacher is null) teacherPatches = emaTeacherPatches;
        else
        {
            using (torch.no_grad())
                teacherPatches = gram_teacher.ForwardFeatures(globalCrops).PatchTokens;
            if (teacherPatches.shape[1] != studentPatches.shape[1])
                teacherPatches = ResizeToStudentGrid(teacherPatches, studentPatches.shape[1]);
        }
        if (Config.TokensUsed != "all")
        {
            var select = masks ?? torch.zeros(studentPatches.shape[0], studentPatches.shape[1], ScalarType.Bool, studentPatches.device);
            if (Config.TokensUsed == "unmasked") select = select.logical_not();
            studentPatches = studentPatches[select];                                         // [n, D]
            teacherPatches = teacherPatches[select];
            if (studentPatches.shape[0] == 0)                                                 // no patch selected this step: no term
                return (studentPatches.sum() * 0).MoveToOuterDisposeScope();
        }
        return loss.forward(studentPatches, teacherPatches).MoveToOuterDisposeScope();
    }

    /// <summary>Square grids: the teacher's [B, n², D] resized to the student's [B, m², D] as the reference does (gram.global_teacher_resize_*).</summary>
    Tensor ResizeToStudentGrid(Tensor teacherPatches, long studentTokens)
    {
        long n = (long)Math.Round(Math.Sqrt(teacherPatches.shape[1])), m = (long)Math.Round(Math.Sqrt(studentTokens));
        if (n * n != teacherPatches.shape[1] || m * m != studentTokens)
            throw new InvalidOperationException($"Gram teacher patches {teacherPatches.shape[1]} and student patches {studentTokens} are not square grids.");
        var mode = Config.GlobalTeacherResizeMethod switch
        {
            "bilinear" => InterpolationMode.Bilinear,
            "nearest" => InterpolationMode.Nearest,
            _ => InterpolationMode.Bicubic,
        };
        var grid = teacherPatches.transpose(-2, -1).unflatten(-1, [n, n]);                  // [B, D, n, n]
        var resized = nn.functional.interpolate(grid, [m, m], mode: mode,
            align_corners: mode == InterpolationMode.Nearest ? null : false, antialias: Config.GlobalTeacherResizeAntialias);
        return resized.flatten(-2, -1).transpose(-2, -1);                                     // [B, m², D]
    }

    void CopyFrom(DinoVisionTransformer teacher)
    {
        using var _ = torch.no_grad();
        var source = teacher.state_dict();
        foreach (var (key, t) in gram_teacher!.state_dict()) t.copy_(source[key]);
    }
}
