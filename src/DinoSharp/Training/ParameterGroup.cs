using TorchSharp.Modules;

namespace DinoSharp.Training;

/// <summary>
/// Parameters sharing one optimiser policy. The scheduled values become, for this group:
/// lr = (IsLastLayer ? lastLayerLr : lr) · LrMultiplier and weight decay = wd · WdMultiplier (dinov2's apply_optim_scheduler).
/// </summary>
/// <param name="LrMultiplier">Factor on the scheduled learning rate.</param>
/// <param name="WdMultiplier">Factor on the scheduled weight decay (0 or 1).</param>
/// <param name="IsLastLayer">Whether the group follows the last-layer schedule (lr 0 while frozen).</param>
/// <param name="Names">Parameter names, in model order.</param>
/// <param name="Parameters">The parameters, in the order of <paramref name="Names"/>.</param>
public sealed record ParameterGroup(double LrMultiplier, double WdMultiplier, bool IsLastLayer, IReadOnlyList<string> Names, IReadOnlyList<Parameter> Parameters)
{
    /// <summary>This group's learning rate given the step's scheduled <paramref name="lr"/> and <paramref name="lastLayerLr"/> (the latter is 0 while the last layer is frozen).</summary>
    public double LearningRate(double lr, double lastLayerLr) => (IsLastLayer ? lastLayerLr : lr) * LrMultiplier;

    /// <summary>This group's weight decay given the step's scheduled <paramref name="wd"/> (0 for no-decay groups).</summary>
    public double WeightDecay(double wd) => wd * WdMultiplier;
}
