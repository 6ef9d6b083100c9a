using System.Diagnostics;
using DinoSharp.Data;
using DinoSharp.Distributed;
using DinoSharp.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>
/// Times the trainer's <see cref="TrainStep"/> before a <c>--minutes</c> run and undoes what the timed steps did: they run
/// with an AdamW of their own over the same model (the run's optimiser is untouched), and the weights, teacher and
/// centers are restored bit for bit afterwards, gradients set to None.
/// </summary>
public static class StepCalibration
{
    /// <summary>Steps run untimed first: the first two steps run 5–13 % slower than the steady state (0.51–0.55 s against 0.48–0.49 s in two runs of the default config).</summary>
    public const int WarmupSteps = 2;
    /// <summary>Steps timed after the warm-up; their median is the estimate.</summary>
    public const int TimedSteps = 5;

    /// <summary>The median seconds of <see cref="TimedSteps"/> steps on the loader's batches 0, 1, … at the start of the config's own schedules.</summary>
    /// <param name="arch">The model, left as it was found.</param>
    /// <param name="loader">Gives the batches (built directly, not through its queue).</param>
    /// <param name="precision">The run's compute precision.</param>
    /// <param name="device">Where the model lives (null = CPU).</param>
    /// <param name="communicator">The ranks (every rank must calibrate: the steps communicate); null for one process.</param>
    /// <param name="holdFinalizers">As <see cref="TrainingOptions.HoldFinalizers"/>.</param>
    public static double MedianSecondsPerStep(SslMetaArch arch, MultiCropDataLoader loader, Precision precision, Device? device = null,
        ICommunicator? communicator = null, bool holdFinalizers = true)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentNullException.ThrowIfNull(loader);
        var config = arch.Config;
        var saved = arch.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var times = new List<double>();
        var schedules = TrainingSchedules.Build(ScheduleConfig.For(config, config.Optim.Epochs * config.Train.OfficialEpochLength));
        try
        {
            using var probe = new TrainStep(arch, precision, communicator, holdFinalizers);
            for (int i = 0; i < WarmupSteps + TimedSteps; i++)
            {
                using var scope = torch.NewDisposeScope();
                using var batch = loader.BuildBatch(i);
                var clock = Stopwatch.StartNew();
                probe.Run(device is null ? batch : batch.To(device), schedules, i);
                if (i >= WarmupSteps) times.Add(clock.Elapsed.TotalSeconds);
            }
        }
        finally
        {
            using (torch.no_grad())
                foreach (var (k, t) in arch.state_dict()) t.copy_(saved[k]);
            foreach (var t in saved.Values) t.Dispose();
            arch.Student.zero_grad();
        }
        return times.Order().ElementAt(TimedSteps / 2);
    }
}
