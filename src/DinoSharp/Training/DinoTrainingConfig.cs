using System.Text.Json.Serialization;
using DinoSharp.Data;
using DinoSharp.Layers;
using DinoSharp.Losses;

namespace DinoSharp.Training;

/// <summary>
/// The whole training configuration, in the reference's sections (dinov2/configs/ssl_default_config.yaml). JSON keys
/// are the snake_case of these property names (e.g. <c>optim.base_lr</c>). Defaults are the reference values unless a
/// comment says otherwise.
/// </summary>
public sealed record DinoTrainingConfig
{
    /// <summary>The backbone (JSON section <c>student</c>).</summary>
    public StudentConfig Student { get; init; } = new();
    /// <summary>Multi-crop augmentation (<c>crops</c>).</summary>
    public CropConfig Crops { get; init; } = new();
    /// <summary>The DINO class-token head and loss, and KoLeo (<c>dino</c>).</summary>
    public DinoConfig Dino { get; init; } = new();
    /// <summary>iBOT masking, head and loss (<c>ibot</c>).</summary>
    public IbotConfig Ibot { get; init; } = new();
    /// <summary>Teacher EMA momentum and temperature schedules (<c>teacher</c>).</summary>
    public TeacherConfig Teacher { get; init; } = new();
    /// <summary>AdamW, learning-rate and weight-decay schedules, clipping (<c>optim</c>).</summary>
    public OptimConfig Optim { get; init; } = new();
    /// <summary>Data, batch, seed, logging, checkpoints, online kNN and collapse detection (<c>train</c>).</summary>
    public TrainConfig Train { get; init; } = new();
    /// <summary>DINOv3's Gram anchoring (<c>gram</c>); off by default.</summary>
    public GramConfig Gram { get; init; } = new();
    /// <summary>
    /// Number format of the matrix products, written "auto" (default: bf16 where the CPU multiplies bfloat16 natively,
    /// else fp32), "fp32" or "bf16" (key <c>precision</c>). Master weights, optimiser state, LayerNorm statistics, the
    /// losses, centers, EMA and checkpoints are float32 in every precision. Not written to config.json while "auto", so
    /// that the text of runs made before the key existed (and their resume check) is unchanged.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Precision Precision { get; init; }
}

/// <summary>The <c>student</c> section: which backbone is trained; the teacher is built the same way without drop path.</summary>
public sealed record StudentConfig
{
    /// <summary>A name from VisionTransformerVariants (vit_small, vit_base, vit_pico_p4, ...).</summary>
    public string Arch { get; init; } = "vit_large";
    /// <summary>Overrides the variant's patch size when set (the reference's student.patch_size: 16 by default; 14 for the released models).</summary>
    public int? PatchSize { get; init; }
    /// <summary>Overrides the variant's position-grid image size when set (the reference trains at global_crops_size).</summary>
    public int? ImgSize { get; init; }
    /// <summary>Stochastic-depth rate of the student's blocks, in [0, 1) (0.3; the teacher uses 0).</summary>
    public double DropPathRate { get; init; } = 0.3;
    /// <summary>Initial LayerScale γ of every block (1e-5; the CPU config uses 1.0, see docs/results.md).</summary>
    public double Layerscale { get; init; } = 1e-5;
    /// <summary>The blocks' feed-forward layer, written "mlp" or "swiglu"; null keeps the variant's.</summary>
    public FeedForwardKind? FfnLayer { get; init; }
    /// <summary>Overrides the variant's number of register tokens when set.</summary>
    public int? NumRegisterTokens { get; init; }
    /// <summary>Start from these backbone weights (Meta layout) instead of a random init; optional.</summary>
    public string? PretrainedWeights { get; init; }
}

/// <summary>The <c>dino</c> section: the class-token projection head, its loss weight, and the KoLeo weight.</summary>
public sealed record DinoConfig
{
    /// <summary>Weight of the DINO class-token loss in the total (1; 0 also turns KoLeo off, as in dinov2).</summary>
    public double LossWeight { get; init; } = 1.0;
    /// <summary>Prototypes K of the DINO head: the width of its softmax (65536).</summary>
    public int HeadNPrototypes { get; init; } = 65536;
    /// <summary>Width of the L2-normalised bottleneck before the prototypes (256).</summary>
    public int HeadBottleneckDim { get; init; } = 256;
    /// <summary>Linear layers in the head's MLP (3).</summary>
    public int HeadNlayers { get; init; } = 3;
    /// <summary>Hidden width of the head's MLP (2048).</summary>
    public int HeadHiddenDim { get; init; } = 2048;
    /// <summary>Weight of the KoLeo regulariser on the student's global class tokens (0.1).</summary>
    public double KoleoLossWeight { get; init; } = 0.1;
}

/// <summary>The <c>ibot</c> section: masked-patch prediction.</summary>
public sealed record IbotConfig
{
    /// <summary>Weight of the iBOT masked-patch loss in the total (1; 0 turns iBOT off).</summary>
    public double LossWeight { get; init; } = 1.0;
    /// <summary>Fraction of global crops that get a block mask, in [0, 1] (0.5).</summary>
    public double MaskSampleProbability { get; init; } = 0.5;
    /// <summary>[min, max] fraction of a masked crop's patches that are masked, 0 ≤ min ≤ max ≤ 1 ([0.1, 0.5]).</summary>
    public double[] MaskRatioMinMax { get; init; } = [0.1, 0.5];
    /// <summary>Give iBOT its own head (sized by the head_* keys below) instead of sharing the DINO head (false).</summary>
    public bool SeparateHead { get; init; }
    /// <summary>Prototypes K of the separate iBOT head (used only with <see cref="SeparateHead"/>).</summary>
    public int HeadNPrototypes { get; init; } = 65536;
    /// <summary>Bottleneck width of the separate iBOT head.</summary>
    public int HeadBottleneckDim { get; init; } = 256;
    /// <summary>MLP layers of the separate iBOT head.</summary>
    public int HeadNlayers { get; init; } = 3;
    /// <summary>MLP hidden width of the separate iBOT head.</summary>
    public int HeadHiddenDim { get; init; } = 2048;
}

/// <summary>The <c>teacher</c> section: EMA momentum and sharpening temperature.</summary>
public sealed record TeacherConfig
{
    /// <summary>EMA momentum of the teacher at the start; cosine schedule up to <see cref="FinalMomentumTeacher"/> (0.992).</summary>
    public double MomentumTeacher { get; init; } = 0.992;
    /// <summary>EMA momentum at the end of the run (1.0: the teacher freezes).</summary>
    public double FinalMomentumTeacher { get; init; } = 1.0;
    /// <summary>Teacher softmax temperature at the start, raised linearly to <see cref="TeacherTemp"/> (0.04).</summary>
    public double WarmupTeacherTemp { get; init; } = 0.04;
    /// <summary>Teacher temperature after the warm-up (0.07); lower means sharper targets.</summary>
    public double TeacherTemp { get; init; } = 0.07;
    /// <summary>Schedule epochs of the temperature warm-up (30).</summary>
    public int WarmupTeacherTempEpochs { get; init; } = 30;
}

/// <summary>The <c>optim</c> section. An "epoch" of the schedules is <see cref="TrainConfig.OfficialEpochLength"/> iterations, or N / <see cref="Epochs"/> (not necessarily whole: the tables then span exactly N) for a run limited to N steps (by --steps or --minutes).</summary>
public sealed record OptimConfig
{
    /// <summary>Length of the run in schedule epochs (100); the *_epochs keys count the same epochs.</summary>
    public int Epochs { get; init; } = 100;
    /// <summary>AdamW weight decay at the start, cosine up to <see cref="WeightDecayEnd"/> (0.04); biases and norms get none.</summary>
    public double WeightDecay { get; init; } = 0.04;
    /// <summary>Weight decay at the end of the run (0.4).</summary>
    public double WeightDecayEnd { get; init; } = 0.4;
    /// <summary>Learning rate for a batch of 1024; scaled by <see cref="ScalingRule"/>.</summary>
    public double BaseLr { get; init; } = 0.004;
    /// <summary>Schedule epochs of the linear learning-rate warm-up from 0 (10).</summary>
    public int WarmupEpochs { get; init; } = 10;
    /// <summary>Learning rate the cosine decay ends at (1e-6).</summary>
    public double MinLr { get; init; } = 1e-6;
    /// <summary>Gradient-norm bound, applied separately to the backbone and to each head (3.0); 0 = no clipping.</summary>
    public double ClipGrad { get; init; } = 3.0;
    /// <summary>Schedule epochs during which the heads' prototype layers get learning rate 0 (1).</summary>
    public int FreezeLastLayerEpochs { get; init; } = 1;
    /// <summary>How the lr scales with the batch, written "sqrt_wrt_1024" (lr = base·√(batch/1024), the default), "linear_wrt_256" or "none".</summary>
    public LrScalingRule ScalingRule { get; init; } = LrScalingRule.SqrtWrt1024;
    /// <summary>Learning-rate multiplier of the patch embedding (0.2).</summary>
    public double PatchEmbedLrMult { get; init; } = 0.2;
    /// <summary>Layer-wise learning-rate decay: block i of L gets lr × decay^(L − i) (0.9; 1 disables).</summary>
    public double LayerwiseDecay { get; init; } = 0.9;
    /// <summary>AdamW β1 (0.9).</summary>
    public double AdamwBeta1 { get; init; } = 0.9;
    /// <summary>AdamW β2 (0.999).</summary>
    public double AdamwBeta2 { get; init; } = 0.999;

    /// <summary>The learning rate the schedules peak at, for the given total batch size.</summary>
    public double ScaledLr(int batchSize) => ScalingRule switch
    {
        LrScalingRule.SqrtWrt1024 => BaseLr * Math.Sqrt(batchSize / 1024.0),
        LrScalingRule.LinearWrt256 => BaseLr * batchSize / 256.0,
        LrScalingRule.None => BaseLr,
        _ => throw new ConfigException($"optim.scaling_rule = {(int)ScalingRule}: must be one of {string.Join(", ", ConfigNames.ScalingRule.Names)}."),
    };
}

/// <summary>The <c>train</c> section: everything about the run that is not the model or the optimisation.</summary>
public sealed record TrainConfig
{
    /// <summary>The dataset string (see DatasetSpec): fashion-mnist:train, folder:&lt;path&gt;, idx:..., list:....</summary>
    public string Dataset { get; init; } = "fashion-mnist:train";
    /// <summary>Images per step (the reference's batch_size_per_gpu × number of GPUs).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Iterations that make one "epoch" for the schedules (the reference's OFFICIAL_EPOCH_LENGTH).</summary>
    public int OfficialEpochLength { get; init; } = 1250;
    /// <summary>How teacher logits become targets, written "centering" (EMA center, the default) or "sinkhorn_knopp".</summary>
    public TeacherCentering Centering { get; init; } = TeacherCentering.Centering;
    /// <summary>Seeds the initial weights, drop path, epoch orders, augmentations and masks; the same seed gives the same run.</summary>
    public int Seed { get; init; }
    /// <summary>Data-loading threads; 0 = automatic (leaves libtorch its cores).</summary>
    public int NumWorkers { get; init; }
    /// <summary>Log a metrics line every this many steps.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>Write a checkpoint every this many steps (and at the end).</summary>
    public int CheckpointEvery { get; init; } = 500;
    /// <summary>Checkpoints to keep (plus the best by online kNN).</summary>
    public int KeepCheckpoints { get; init; } = 2;
    /// <summary>Online kNN every this many steps (0 = off); needs labelled data.</summary>
    public int KnnEvery { get; init; } = 500;
    /// <summary>Labelled images used as the online kNN's train/test sets (taken from knn_dataset's two splits).</summary>
    public int KnnTrainImages { get; init; } = 10000;
    /// <summary>Test images of the online kNN (see <see cref="KnnTrainImages"/>).</summary>
    public int KnnTestImages { get; init; } = 2000;
    /// <summary>Training split and test split of the online kNN ("" = the training dataset itself, split in two).</summary>
    public string KnnTrainDataset { get; init; } = "fashion-mnist:train";
    /// <summary>Test split of the online kNN (see <see cref="KnnTrainDataset"/>).</summary>
    public string KnnTestDataset { get; init; } = "fashion-mnist:test";
    /// <summary>Stop when teacher entropy stays below this fraction of log(K) for collapse_patience logs (0 = never stop).</summary>
    public double CollapseEntropyFraction { get; init; } = 0.02;
    /// <summary>Consecutive logged steps below the entropy threshold that stop the run as <see cref="TrainingOutcome.Collapsed"/>; 0 (default) only warns.</summary>
    public int CollapsePatience { get; init; }
    /// <summary>The teacher entropy (nats) below which a logged step counts as collapsing: <see cref="CollapseEntropyFraction"/> · log K for K prototypes (the trainer and the report use it alike).</summary>
    public double CollapseEntropyThreshold(int prototypes) => CollapseEntropyFraction * Math.Log(prototypes);
}
