using DinoSharp.Training;

namespace DinoSharp.Tests.Training;

public sealed class SchedulesTests
{
    const int Precision = 12;

    // 100 epochs of 10 iterations at batch 256: peak lr 0.004·√(256/1024) = 0.002, lr warm-up 100 iterations,
    // teacher-temperature warm-up 300, last layer frozen for the first 10.
    static readonly DinoTrainingConfig Reference = new() { Train = new TrainConfig { BatchSize = 256 } };
    static readonly ScheduleConfig Config = ScheduleConfig.For(Reference, 1000);
    static readonly TrainingSchedules S = TrainingSchedules.Build(Config);

    [Fact]
    public void AllTablesCoverTheRun()
    {
        Assert.Equal(1000, S.TotalIters);
        foreach (var table in new[] { S.Lr, S.WeightDecay, S.Momentum, S.TeacherTemp, S.LastLayerLr })
            Assert.Equal(1000, table.Length);
    }

    [Fact]
    public void ARunOfAnyStepCountEndsItsSchedulesOnItsLastStep()
    {
        // 450 steps over 100 schedule epochs: 4.5 iterations an epoch; warm-up 10 epochs = 45 steps, temperature 30 = 135.
        var s = TrainingSchedules.Build(ScheduleConfig.For(Reference, 450));
        Assert.All(new[] { s.Lr, s.WeightDecay, s.Momentum, s.TeacherTemp, s.LastLayerLr }, t => Assert.Equal(450, t.Length));
        Assert.Equal(0.002, s.Lr[44], Precision);                       // last warm-up step: the peak
        Assert.Equal(1e-6 + 0.5 * (0.002 - 1e-6) * (1 + Math.Cos(Math.PI * 404 / 405)), s.Lr[449], Precision);  // the cosine's last step
        Assert.True(s.Momentum[449] > 0.99999);
        Assert.Equal(0.07, s.TeacherTemp[134], Precision);               // linspace over 135 steps, ends included
        Assert.True(s.TeacherTemp[133] < 0.07);
        Assert.Equal(0.0, s.LastLayerLr[4]);                            // 1 epoch = 4.5 steps, rounded to 5
        Assert.Equal(s.Lr[5], s.LastLayerLr[5]);
    }

    [Fact]
    public void LearningRateWarmsUpLinearlyThenFollowsTheCosine()
    {
        Assert.Equal(0.002, Config.PeakLr, Precision);
        Assert.Equal(0.0, S.Lr[0], Precision);                      // first warm-up step: start value
        Assert.Equal(0.002 * 50 / 99, S.Lr[50], Precision);         // linspace(0, 0.002, 100)
        Assert.Equal(0.002, S.Lr[99], Precision);                   // last warm-up step: the peak
        Assert.Equal(0.002, S.Lr[100], Precision);                  // cosine i = 0
        Assert.Equal(1e-6 + 0.5 * (0.002 - 1e-6), S.Lr[550], Precision);  // cosine half-way (i = 450 of 900)
        Assert.Equal(1e-6 + 0.5 * (0.002 - 1e-6) * (1 + Math.Cos(Math.PI * 899 / 900)), S.Lr[999], Precision);
        Assert.True(S.Lr[999] > 1e-6 && S.Lr[999] < 1.01e-6);
    }

    [Fact]
    public void LastLayerLrIsZeroForTheFirstEpochThenTheLr()
    {
        Assert.All(S.LastLayerLr[..10], v => Assert.Equal(0.0, v));
        Assert.Equal(S.Lr[10], S.LastLayerLr[10]);
        Assert.Equal(0.002 * 10 / 99, S.LastLayerLr[10], Precision);
        Assert.Equal(S.Lr[10..], S.LastLayerLr[10..]);
    }

    [Fact]
    public void WeightDecayAndMomentumAreCosinesWithoutWarmup()
    {
        Assert.Equal(0.04, S.WeightDecay[0], Precision);
        Assert.Equal(0.22, S.WeightDecay[500], Precision);
        Assert.Equal(0.4 - 0.5 * 0.36 * (1 + Math.Cos(Math.PI * 999 / 1000)), S.WeightDecay[999], Precision);
        Assert.Equal(0.992, S.Momentum[0], Precision);
        Assert.Equal(0.996, S.Momentum[500], Precision);
        Assert.Equal(1.0 - 0.004 * (1 + Math.Cos(Math.PI * 999 / 1000)), S.Momentum[999], Precision);
    }

    [Fact]
    public void TeacherTemperatureWarmsUpOver30EpochsThenStays()
    {
        Assert.Equal(0.04, S.TeacherTemp[0], Precision);
        Assert.Equal(0.04 + 0.03 * 150 / 299, S.TeacherTemp[150], Precision);
        Assert.Equal(0.07, S.TeacherTemp[299], Precision);
        Assert.All(S.TeacherTemp[300..], v => Assert.Equal(0.07, v));

        // A run shorter than the warm-up keeps the warm-up slope.
        var shortRun = TrainingSchedules.Build(ScheduleConfig.For(Reference with { Optim = new OptimConfig { Epochs = 10, WarmupEpochs = 10 } }, 100));
        Assert.Equal(0.04 + 0.03 * 99 / 299, shortRun.TeacherTemp[99], Precision);
    }

    [Fact]
    public void CosineFreezesThenWarmsUpThenDecays()
    {
        var table = Schedules.Cosine(baseValue: 1, finalValue: 0, totalIters: 10, warmupIters: 2, startWarmupValue: 0.5, freezeIters: 3);
        Assert.Equal([0, 0, 0, 0.5, 1], table[..5]);
        for (int i = 0; i < 5; i++)
            Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * i / 5)), table[5 + i], Precision);
        Assert.Equal([7.0], Schedules.Cosine(7, 1, 1));  // one cosine step = the base value
        Assert.Empty(Schedules.Cosine(1, 0, 0));
        Assert.Equal([2.0], Schedules.Linspace(2, 5, 1));
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Schedules.Cosine(1, 0, totalIters: 5, warmupIters: 4, freezeIters: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedules.Cosine(1, 0, totalIters: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedules.Cosine(double.NaN, 0, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedules.LinearWarmupThenConstant(0.04, 0.07, -1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ScheduleConfig.For(Reference, 0));
    }

    /// <summary>Each setting the schedules cannot use is refused by the validator with the same one-line message ScheduleConfig.For gives, naming the key.</summary>
    [Theory]
    [InlineData("train.batch_size=0", "train.batch_size = 0")]
    [InlineData("teacher.teacher_temp=0", "teacher.teacher_temp = 0")]
    [InlineData("teacher.warmup_teacher_temp=-0.1", "teacher.warmup_teacher_temp = -0.1")]
    [InlineData("teacher.final_momentum_teacher=1.5", "teacher.final_momentum_teacher = 1.5")]
    [InlineData("optim.warmup_epochs=101", "optim.warmup_epochs = 101")]
    [InlineData("optim.base_lr=0", "optim.base_lr = 0")]
    [InlineData("optim.min_lr=-1", "optim.min_lr = -1")]
    public void WhatTheSchedulesCannotUseFailsValidationFirst(string setting, string message)
    {
        var config = TrainingConfigLoader.Resolve(null, [setting]);
        var validated = Assert.Throws<ConfigException>(() => TrainingConfigValidator.Validate(config));
        var built = Assert.Throws<ConfigException>(() => ScheduleConfig.For(config, 1000));
        Assert.StartsWith(message, validated.Message);
        Assert.Equal(validated.Message, built.Message);
    }

    [Theory]
    [InlineData(LrScalingRule.SqrtWrt1024, 0.004 * 0.5)]
    [InlineData(LrScalingRule.LinearWrt256, 0.004)]
    [InlineData(LrScalingRule.None, 0.004)]
    public void ThePeakLrIsTheScalingRulesValueForTheBatch(LrScalingRule rule, double peak)
    {
        var config = Reference with { Optim = new OptimConfig { ScalingRule = rule } };
        var s = TrainingSchedules.Build(ScheduleConfig.For(config, 1000));
        Assert.Equal(peak, ScheduleConfig.For(config, 1000).PeakLr, Precision);
        Assert.Equal(peak, s.Lr.Max(), Precision);
    }
}
