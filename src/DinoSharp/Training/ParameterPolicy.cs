namespace DinoSharp.Training;

/// <summary>The optimiser policy of one named parameter: its layer, lr and weight-decay multipliers, last-layer flag.</summary>
public sealed record ParameterPolicy(string Name, int LayerId, double LrMultiplier, double WdMultiplier, bool IsLastLayer);
