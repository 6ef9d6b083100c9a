using TorchSharp.Modules;

namespace DinoSharp.Training;

/// <summary>
/// Parameters sharing one optimiser policy. The scheduled values become, for this group:
/// lr = (IsLastLayer ? lastLayerLr : lr) · LrMultiplier and weight decay = wd · WdMultiplier (dinov2's apply_optim_scheduler).
/// </summary>
public sealed record ParameterGroup(double LrMultiplier, double WdMultiplier, bool IsLastLayer, IReadOnlyList<string> Names, IReadOnlyList<Parameter> Parameters)
{
    public double LearningRate(double lr, double lastLayerLr) => (IsLastLayer ? lastLayerLr : lr) * LrMultiplier;

    public double WeightDecay(double wd) => wd * WdMultiplier;
}
