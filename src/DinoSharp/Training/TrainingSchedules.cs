namespace DinoSharp.Training;

/// <summary>
/// The five per-iteration tables of a run (dinov2's <c>build_schedulers</c>), each of length
/// <see cref="TotalIters"/>: index with the iteration number.
/// </summary>
/// <param name="Lr">Warm-up 0 → the peak lr over WarmupEpochs, then cosine to MinLr.</param>
/// <param name="WeightDecay">Cosine WeightDecay → WeightDecayEnd (no warm-up).</param>
/// <param name="Momentum">Teacher EMA momentum, cosine MomentumTeacher → FinalMomentumTeacher.</param>
/// <param name="TeacherTemp">Linear WarmupTeacherTemp → TeacherTemp over WarmupTeacherTempEpochs, then constant.</param>
/// <param name="LastLayerLr">Lr with the first FreezeLastLayerEpochs epochs set to 0.</param>
public sealed record TrainingSchedules(double[] Lr, double[] WeightDecay, double[] Momentum, double[] TeacherTemp, double[] LastLayerLr)
{
    /// <summary>Length of every table: the run's iterations.</summary>
    public int TotalIters => Lr.Length;

    /// <summary>Precomputes the five tables for <paramref name="config"/> (checked when it was made: <see cref="ScheduleConfig.For"/>).</summary>
    public static TrainingSchedules Build(ScheduleConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var (o, t) = (config.Optim, config.Teacher);
        int total = config.Iterations;
        var lr = Schedules.Cosine(config.PeakLr, o.MinLr, total, warmupIters: config.IterationsFor(o.WarmupEpochs), startWarmupValue: 0);
        return new TrainingSchedules(
            lr,
            Schedules.Cosine(o.WeightDecay, o.WeightDecayEnd, total),
            Schedules.Cosine(t.MomentumTeacher, t.FinalMomentumTeacher, total),
            Schedules.LinearWarmupThenConstant(t.WarmupTeacherTemp, t.TeacherTemp, config.IterationsFor(t.WarmupTeacherTempEpochs), total),
            Schedules.WithFrozenPrefix(lr, config.IterationsFor(o.FreezeLastLayerEpochs)));
    }
}
