using System.Diagnostics;
using DinoSharp.Training;
using TorchSharp;

namespace DinoSharp.Server;

/// <summary>
/// Runs a request's libtorch work: under a <see cref="FinalizerHold"/> (TorchSharp frees implicit scalars from
/// finalizers, which must not run while libtorch reads them) and a dispose scope, so every tensor the request made is
/// freed when it returns.
/// </summary>
/// <remarks>
/// The hold is counted and process-wide: overlapping requests share one parked finalizer thread and take its lock only
/// for a counter update, so they do not serialise. But under steady load the holds would overlap forever and the
/// finalizer thread would never run (memory grows). So once the holds have covered a continuous stretch longer than
/// <see cref="MaxContinuousHold"/>, new requests wait until the running ones finish: the finalizer thread then drains
/// its queue before the next request parks it again. That wait lasts one request, not a lock held across all of them.
/// </remarks>
static class TorchWork
{
    /// <summary>Longest continuous stretch of overlapping holds before new requests let the finalizers run.</summary>
    public static readonly TimeSpan MaxContinuousHold = TimeSpan.FromMilliseconds(250);

    static readonly object Sync = new();
    static int running;
    static long heldSince;            // Stopwatch timestamp when `running` went from 0 to 1

    /// <summary>Runs <paramref name="work"/> synchronously on this thread (dispose scopes are per thread: no awaits inside).</summary>
    public static T Run<T>(Func<T> work)
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
