namespace DinoSharp.Training;

/// <summary>
/// The five per-iteration tables of a run (dinov2's <c>build_schedulers</c>), each of length
/// <see cref="TotalIters"/>: index with the iteration number.
/// </summary>
/// <param name="Lr">Warm-up 0 → ScaledLr over WarmupEpochs, then cosine to MinLr.</param>
/// <param name="WeightDecay">Cosine WeightDecay → WeightDecayEnd (no warm-up).</param>
/// <param name="Momentum">Teacher EMA momentum, cosine MomentumTeacher → FinalMomentumTeacher.</param>
/// <param name="TeacherTemp">Linear WarmupTeacherTemp → TeacherTemp over WarmupTeacherTempEpochs, then constant.</param>
/// <param name="LastLayerLr">Lr with the first FreezeLastLayerEpochs epochs set to 0.</param>
public sealed record TrainingSchedules(double[] Lr, double[] WeightDecay, double[] Momentum, double[] TeacherTemp, double[] LastLayerLr)
{
    /// <summary>Length of every table: the run's iterations.</summary>
    public int TotalIters => Lr.Length;

    /// <summary>Precomputes the five tables for <paramref name="config"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A length, batch size, learning rate, temperature or momentum is out of range.</exception>
    public static TrainingSchedules Build(ScheduleConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(config.Epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(config.ItersPerEpoch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(config.BatchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(config.WarmupEpochs);
        ArgumentOutOfRangeException.ThrowIfNegative(config.WarmupTeacherTempEpochs);
        ArgumentOutOfRangeException.ThrowIfNegative(config.FreezeLastLayerEpochs);
        if (!(config.BaseLr > 0) || !(config.MinLr >= 0))
            throw new ArgumentOutOfRangeException(nameof(config), "Need BaseLr > 0 and MinLr ≥ 0.");
        if (!(config.WarmupTeacherTemp > 0) || !(config.TeacherTemp > 0))
            throw new ArgumentOutOfRangeException(nameof(config), "Teacher temperatures must be positive.");
        if (config.MomentumTeacher is < 0 or > 1 || config.FinalMomentumTeacher is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(config), "Teacher momenta must lie in [0, 1].");

        if (config.Iterations is < 1)
            throw new ArgumentOutOfRangeException(nameof(config), config.Iterations, "Iterations must be at least 1.");
        int total = config.TotalIters;
        var lr = Schedules.Cosine(config.ScaledLr, config.MinLr, total, warmupIters: config.IterationsFor(config.WarmupEpochs), startWarmupValue: 0);
        return new TrainingSchedules(
            lr,
            Schedules.Cosine(config.WeightDecay, config.WeightDecayEnd, total),
            Schedules.Cosine(config.MomentumTeacher, config.FinalMomentumTeacher, total),
            Schedules.LinearWarmupThenConstant(config.WarmupTeacherTemp, config.TeacherTemp, config.IterationsFor(config.WarmupTeacherTempEpochs), total),
            Schedules.WithFrozenPrefix(lr, config.IterationsFor(config.FreezeLastLayerEpochs)));
    }
}
