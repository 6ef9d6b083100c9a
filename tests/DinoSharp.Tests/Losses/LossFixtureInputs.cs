using DinoSharp.Tests.Fixtures;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Losses;

/// <summary>The loss oracle's inputs and <c>loss_config</c>, read from a fixture folder.</summary>
public sealed class LossFixtureInputs
{
    public LossFixtureInputs(ReferenceFixtures fx)
    {
        var c = fx.LossConfig;
        StudentTemp = c.GetProperty("student_temp").GetDouble();
        TeacherTemp = c.GetProperty("teacher_temp").GetDouble();
        CenterMomentum = c.GetProperty("center_momentum").GetDouble();
        SinkhornIterations = c.GetProperty("sinkhorn_iterations").GetInt32();
        GlobalCrops = c.GetProperty("global_crops").GetInt32();
        LocalCrops = c.GetProperty("local_crops").GetInt32();
        ImagesPerCrop = c.GetProperty("images_per_crop").GetInt32();
        OutDim = c.GetProperty("out_dim").GetInt32();
        Fx = fx;
    }

    public ReferenceFixtures Fx { get; }
    public double StudentTemp { get; }
    public double TeacherTemp { get; }
    public double CenterMomentum { get; }
    public int SinkhornIterations { get; }
    public int GlobalCrops { get; }
    public int LocalCrops { get; }
    public int ImagesPerCrop { get; }
    public int OutDim { get; }

    /// <summary>Fixture tensors that are drawn inputs of the oracle rather than outputs to check.</summary>
    public static readonly string[] InputNames =
    [
        "loss__dino_teacher_logits", "loss__dino_teacher_logits2", "loss__dino_student_local", "loss__dino_student_global",
        "loss__ibot_masks", "loss__ibot_teacher_logits", "loss__ibot_student_logits", "loss__ibot_full_teacher_logits",
        "loss__ibot_full_student", "loss__koleo_x",
    ];

    public Tensor Load(string shortName) => Fx.Load("loss__" + shortName);
    public Tensor Masks => Load("ibot_masks").to(ScalarType.Bool);
    public long MaskedPatches => Load("ibot_teacher_logits").shape[0];
}
