using System.Diagnostics;
using DinoSharp.Data;

namespace DinoSharp.Benchmarking;

/// <summary>The data pipeline alone: decode, multi-crop augmentation, masks and collation through the threaded loader.</summary>
public static class DataThroughput
{
    /// <summary>
    /// Augmented images per second from <paramref name="loader"/> over <paramref name="batches"/> batches, timed from the
    /// first batch's arrival (thread start-up and JIT excluded).
    /// </summary>
    public static double ImagesPerSecond(MultiCropDataLoader loader, int batches)
    {
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batches);
        int n = 0;
        Stopwatch? clock = null;
        foreach (var batch in loader.Batches())
        {
            batch.Dispose();
            if (n++ == 0) { clock = Stopwatch.StartNew(); continue; }
            if (n == batches + 1) break;
        }
        return batches * (double)loader.BatchSize / clock!.Elapsed.TotalSeconds;
    }
}
