using System.Collections.Concurrent;
using System.Diagnostics;
using DinoSharp.Training;
using TorchSharp;

namespace DinoSharp.Server;

/// <summary>
/// Runs the requests' libtorch work on a fixed set of worker threads, each item under a <see cref="FinalizerHold"/>
/// (TorchSharp frees implicit scalars from finalizers, which must not run while libtorch reads them) and a dispose
/// scope, so every tensor a request makes is freed when its work returns.
/// </summary>
/// <remarks>
/// Fixed workers rather than the thread pool: every thread that calls into libtorch gets its own OpenMP team and
/// allocator arena, so work spread over a growing thread pool grows resident memory; and handlers that await the
/// work do not block pool threads. Several workers, so requests run side by side and do not queue behind one lock.
/// The hold is counted and process-wide: overlapping items share one parked finalizer thread. Under steady load the
/// holds would overlap forever and finalizers would never run (memory grows), so once they have covered a continuous
/// stretch longer than <see cref="MaxContinuousHold"/>, new items wait until the running ones finish; the finalizer
/// thread then drains its queue before the next item parks it again. That wait lasts one item.
/// </remarks>
static class TorchWork
{
    /// <summary>Longest continuous stretch of overlapping holds before new work lets the finalizers run.</summary>
    public static readonly TimeSpan MaxContinuousHold = TimeSpan.FromMilliseconds(250);

    /// <summary>Worker threads: one per core, at least 2 and at most 8.</summary>
    public static readonly int Workers = Math.Clamp(Environment.ProcessorCount, 2, 8);

    static readonly BlockingCollection<Action> Queue = StartWorkers();
    static readonly object Sync = new();
    static int running;
    static long heldSince;            // Stopwatch timestamp when `running` went from 0 to 1

    /// <summary>Runs <paramref name="work"/> on a worker (synchronously there: dispose scopes are per thread) and completes with its result or exception.</summary>
    public static Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue.Add(() =>
        {
            try { done.SetResult(Run(work)); }
            catch (Exception e) { done.SetException(e); }
        });
        return done.Task;
    }

    static T Run<T>(Func<T> work)
    {
        Enter();
        try
        {
            using var hold = FinalizerHold.Begin();
            using var scope = torch.NewDisposeScope();
            using var mode = torch.inference_mode();
            return work();
        }
        finally
        {
            Exit();
        }
    }

    static BlockingCollection<Action> StartWorkers()
    {
        var queue = new BlockingCollection<Action>();
        for (int i = 0; i < Workers; i++)
            new Thread(() => { foreach (var item in queue.GetConsumingEnumerable()) item(); }) { IsBackground = true, Name = $"explorer-torch-{i}" }.Start();
        return queue;
    }

    static void Enter()
    {
        lock (Sync)
        {
            while (running > 0 && Stopwatch.GetElapsedTime(heldSince) > MaxContinuousHold)
                Monitor.Wait(Sync);
            if (running++ == 0) heldSince = Stopwatch.GetTimestamp();
        }
    }

    static void Exit()
    {
        lock (Sync)
        {
            if (--running == 0) Monitor.PulseAll(Sync);
        }
    }
}
