using DinoSharp.Data;

namespace DinoSharp.Training;

/// <summary>
/// The whole training configuration, in the reference's sections (dinov2/configs/ssl_default_config.yaml). JSON keys
/// are the snake_case of these property names (e.g. <c>optim.base_lr</c>). Defaults are the reference values unless a
/// comment says otherwise.
/// </summary>
public sealed record DinoTrainingConfig
{
    public StudentConfig Student { get; init; } = new();
    public CropConfig Crops { get; init; } = new();
    public DinoConfig Dino { get; init; } = new();
    public IbotConfig Ibot { get; init; } = new();
    public TeacherConfig Teacher { get; init; } = new();
    public OptimConfig Optim { get; init; } = new();
    public TrainConfig Train { get; init; } = new();
}

public sealed record StudentConfig
{
    /// <summary>A name from VisionTransformerVariants (vit_small, vit_base, vit_pico_p4, ...).</summary>
    public string Arch { get; init; } = "vit_large";
    /// <summary>Overrides the variant's patch size when set (the reference's student.patch_size: 16 by default; 14 for the released models).</summary>
    public int? PatchSize { get; init; }
    /// <summary>Overrides the variant's position-grid image size when set (the reference trains at global_crops_size).</summary>
    public int? ImgSize { get; init; }
    public double DropPathRate { get; init; } = 0.3;
    public double Layerscale { get; init; } = 1e-5;
    /// <summary>"mlp" or "swiglu"; null keeps the variant's.</summary>
    public string? FfnLayer { get; init; }
    public int? NumRegisterTokens { get; init; }
    /// <summary>Start from these backbone weights (Meta layout) instead of a random init; optional.</summary>
    public string? PretrainedWeights { get; init; }
}

public sealed record DinoConfig
{
    public double LossWeight { get; init; } = 1.0;
    public int HeadNPrototypes { get; init; } = 65536;
    public int HeadBottleneckDim { get; init; } = 256;
    public int HeadNlayers { get; init; } = 3;
    public int HeadHiddenDim { get; init; } = 2048;
    public double KoleoLossWeight { get; init; } = 0.1;
}

public sealed record IbotConfig
{
    public double LossWeight { get; init; } = 1.0;
    public double MaskSampleProbability { get; init; } = 0.5;
    public double[] MaskRatioMinMax { get; init; } = [0.1, 0.5];
    public bool SeparateHead { get; init; }
    public int HeadNPrototypes { get; init; } = 65536;
    public int HeadBottleneckDim { get; init; } = 256;
    public int HeadNlayers { get; init; } = 3;
    public int HeadHiddenDim { get; init; } = 2048;
}

public sealed record TeacherConfig
{
    public double MomentumTeacher { get; init; } = 0.992;
    public double FinalMomentumTeacher { get; init; } = 1.0;
    public double WarmupTeacherTemp { get; init; } = 0.04;
    public double TeacherTemp { get; init; } = 0.07;
    public int WarmupTeacherTempEpochs { get; init; } = 30;
}

public sealed record OptimConfig
{
    public int Epochs { get; init; } = 100;
    public double WeightDecay { get; init; } = 0.04;
    public double WeightDecayEnd { get; init; } = 0.4;
    /// <summary>Learning rate for a batch of 1024; scaled by <see cref="ScalingRule"/>.</summary>
    public double BaseLr { get; init; } = 0.004;
    public int WarmupEpochs { get; init; } = 10;
    public double MinLr { get; init; } = 1e-6;
    public double ClipGrad { get; init; } = 3.0;
    public int FreezeLastLayerEpochs { get; init; } = 1;
    /// <summary>"sqrt_wrt_1024" (lr = base·sqrt(batch/1024)) or "linear_wrt_256" or "none".</summary>
    public string ScalingRule { get; init; } = "sqrt_wrt_1024";
    public double PatchEmbedLrMult { get; init; } = 0.2;
    public double LayerwiseDecay { get; init; } = 0.9;
    public double AdamwBeta1 { get; init; } = 0.9;
    public double AdamwBeta2 { get; init; } = 0.999;

    /// <summary>The learning rate the schedules peak at, for the given total batch size.</summary>
    public double ScaledLr(int batchSize) => ScalingRule switch
    {
        "sqrt_wrt_1024" => BaseLr * Math.Sqrt(batchSize / 1024.0),
        "linear_wrt_256" => BaseLr * batchSize / 256.0,
        "none" => BaseLr,
        _ => throw new ArgumentException($"optim.scaling_rule = '{ScalingRule}' is not one of sqrt_wrt_1024, linear_wrt_256, none."),
    };
}

public sealed record TrainConfig
{
    /// <summary>The dataset string (see DatasetSpec): fashion-mnist:train, folder:&lt;path&gt;, idx:..., list:....</summary>
    public string Dataset { get; init; } = "fashion-mnist:train";
    /// <summary>Images per step (the reference's batch_size_per_gpu × number of GPUs).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Iterations that make one "epoch" for the schedules (the reference's OFFICIAL_EPOCH_LENGTH).</summary>
    public int OfficialEpochLength { get; init; } = 1250;
    /// <summary>"centering" (EMA center) or "sinkhorn_knopp".</summary>
    public string Centering { get; init; } = "centering";
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
    public int KnnTestImages { get; init; } = 2000;
    /// <summary>Training split and test split of the online kNN ("" = the training dataset itself, split in two).</summary>
    public string KnnTrainDataset { get; init; } = "fashion-mnist:train";
    public string KnnTestDataset { get; init; } = "fashion-mnist:test";
    /// <summary>Stop when teacher entropy stays below this fraction of log(K) for collapse_patience logs (0 = never stop).</summary>
    public double CollapseEntropyFraction { get; init; } = 0.02;
    public int CollapsePatience { get; init; }
}
