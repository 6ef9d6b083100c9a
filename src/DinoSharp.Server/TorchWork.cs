using System.Collections.Concurrent;
using System.Diagnostics;
using DinoSharp.Training;
using TorchSharp;

namespace DinoSharp.Server;

/// <summary>
/// Runs the requests' libtorch work on a fixed set of worker threads, each item inside a <see cref="FinalizerHold"/>
/// (TorchSharp frees implicit scalars from finalizers, which must not run while libtorch reads them) and a dispose
/// scope, so every tensor a request makes is freed when its work returns.
/// </summary>
/// <remarks>
/// Fixed workers rather than the thread pool: every thread that calls into libtorch gets its own OpenMP team and
/// allocator arena, so work spread over a growing thread pool grows resident memory; and handlers that await the
/// work do not block pool threads. Several workers, so requests run side by side and do not queue behind one lock.
/// Parking the finalizer thread costs a gen-0 collection and a hand-over, so items share one hold, an epoch: it
/// begins with the first item and ends when no work has come for <see cref="IdleRelease"/>, or, under steady load,
/// once it is older than <see cref="MaxContinuousHold"/>: new items then wait until the running ones finish, the
/// finalizer thread drains its queue (memory would grow if it never ran), and the next item starts a new epoch. That
/// wait lasts one item; no lock is held while work runs.
/// </remarks>
static class TorchWork
{
    /// <summary>Longest continuous stretch of overlapping holds before new work lets the finalizers run.</summary>
    public static readonly TimeSpan MaxContinuousHold = TimeSpan.FromMilliseconds(250);

    /// <summary>Worker threads: one per core, at least 2 and at most 8.</summary>
    public static readonly int Workers = Math.Clamp(Environment.ProcessorCount, 2, 8);

    static readonly BlockingCollection<Action> Queue = StartWorkers();
    /// <summary>An idle epoch ends after this long without work, so finalizers run soon after a burst.</summary>
    public static readonly TimeSpan IdleRelease = TimeSpan.FromMilliseconds(50);

    static readonly object Sync = new();
    static readonly Timer IdleTimer = new(_ => ReleaseIfIdle());
    static int running;
    static FinalizerHold? epoch;      // one hold shared by all work items of an epoch
    static long epochStart;           // Stopwatch timestamp when the epoch began

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

    /// <summary>Waits while a long epoch drains, then joins the current epoch (starting one, which parks the finalizer thread, if there is none).</summary>
    static void Enter()
    {
        lock (Sync)
        {
            while (epoch is not null && running > 0 && Stopwatch.GetElapsedTime(epochStart) > MaxContinuousHold)
                Monitor.Wait(Sync);
            if (epoch is not null && running == 0 && Stopwatch.GetElapsedTime(epochStart) > MaxContinuousHold)
                EndEpoch();                                   // the finalizer thread drains its queue before the next Begin parks it
            if (epoch is null)
            {
                epoch = FinalizerHold.Begin();
                epochStart = Stopwatch.GetTimestamp();
            }
            running++;
        }
    }

    /// <summary>Leaves the epoch; the last item out ends a long epoch at once, a short one after <see cref="IdleRelease"/> without new work.</summary>
    static void Exit()
    {
        lock (Sync)
        {
            if (--running > 0) return;
            if (Stopwatch.GetElapsedTime(epochStart) > MaxContinuousHold) EndEpoch();
            else IdleTimer.Change(IdleRelease, Timeout.InfiniteTimeSpan);
            Monitor.PulseAll(Sync);
        }
    }

    static void EndEpoch()
    {
        epoch?.Dispose();
        epoch = null;
    }

    static void ReleaseIfIdle()
    {
        lock (Sync)
        {
            if (running == 0) EndEpoch();
        }
    }
}
