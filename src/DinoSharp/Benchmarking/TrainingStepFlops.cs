using DinoSharp.Data;
using DinoSharp.Models;
using DinoSharp.Training;

namespace DinoSharp.Benchmarking;

/// <summary>
/// Analytic FLOPs of one DINOv2 training step on a batch (matrix products only, as <see cref="VisionTransformerFlops"/>):
/// the teacher forward on the 2 global crops; the student forward on the 2 global + n local crops; the heads on the
/// cls tokens and the masked patch tokens; the student's backward counted as 2× its forward (gradients of inputs and
/// of weights). Head per token: 2·(D·H + (nlayers − 2)·H·H + H·B + B·K) for an nlayers-deep MLP of hidden width H,
/// bottleneck B and K prototypes.
/// </summary>
public static class TrainingStepFlops
{
    /// <summary>FLOPs per step for <paramref name="batch"/> (its size and its count of masked patches).</summary>
    public static double PerStep(DinoTrainingConfig config, VisionTransformerConfig backbone, MultiCropBatch batch)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(batch);
        int b = batch.BatchSize;
        double global = VisionTransformerFlops.PerImage(backbone, config.Crops.GlobalCropsSize).Total;
        double local = config.Crops.LocalCropsNumber > 0 ? VisionTransformerFlops.PerImage(backbone, config.Crops.LocalCropsSize).Total : 0;
        double dinoHead = HeadPerToken(backbone.EmbedDim, config.Dino.HeadHiddenDim, config.Dino.HeadBottleneckDim, config.Dino.HeadNPrototypes, config.Dino.HeadNlayers);
        double ibotHead = config.Ibot.SeparateHead
            ? HeadPerToken(backbone.EmbedDim, config.Ibot.HeadHiddenDim, config.Ibot.HeadBottleneckDim, config.Ibot.HeadNPrototypes, config.Ibot.HeadNlayers)
            : dinoHead;
        double masked = config.Ibot.LossWeight > 0 ? batch.NumMaskedPatches : 0;
        double teacher = 2 * b * global + 2 * b * dinoHead + masked * ibotHead;
        double studentForward = 2 * b * global + config.Crops.LocalCropsNumber * b * local
            + (2 + config.Crops.LocalCropsNumber) * b * dinoHead + masked * ibotHead;
        return teacher + 3 * studentForward;
    }

    static double HeadPerToken(int inDim, int hidden, int bottleneck, int prototypes, int nlayers) =>
        nlayers <= 1
            ? 2.0 * (inDim * (double)bottleneck + bottleneck * (double)prototypes)
            : 2.0 * (inDim * (double)hidden + (nlayers - 2) * (double)hidden * hidden + hidden * (double)bottleneck + bottleneck * (double)prototypes);
}
