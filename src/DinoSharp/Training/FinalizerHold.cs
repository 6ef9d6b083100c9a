using System.Runtime.CompilerServices;

namespace DinoSharp.Training;

/// <summary>
/// Keeps .NET finalizers from running while a training step is inside libtorch.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns numbers into native <c>Scalar</c>s implicitly (every <c>a + b</c> passes alpha = 1, and
/// <c>x * 0.5</c>, AdamW's and the EMA's coefficients do the same) and passes their handles to libtorch without keeping
/// the managed <c>Scalar</c> alive. A garbage collection started by another thread during that call — the data loader's
/// workers allocate decoded images and batch buffers all the time — can finalize the <c>Scalar</c> and free it while
/// libtorch reads it: a random "Expected false to be true … toFloat" error (or a crash) after minutes of training.
/// Holding the single finalizer thread (parked in a finalizer of ours) while the step runs defers every such free to
/// after the step, when the calls that used the handles have returned. Costs one gen-0 collection per hold.
/// Process-wide and counted: holds may overlap (two trainers in one process) and the thread is released with the last.
/// Who holds it: <see cref="DinoTrainer"/> for each training step (the data loader's threads allocate throughout;
/// <see cref="TrainingOptions.HoldFinalizers"/> turns it off), the step profiler, and the CLI while it embeds a dataset.
/// A host application sees its own finalizers deferred to between steps; nothing else changes. Remove this type when
/// TorchSharp keeps implicit Scalars alive across native calls.
/// </remarks>
public sealed class FinalizerHold : IDisposable
{
    static readonly object Sync = new();
    static int holders;
    static ManualResetEventSlim? release;
    int disposed;

    FinalizerHold() { }

    /// <summary>Parks the finalizer thread (after it has run the finalizers already due) until the hold is disposed.</summary>
    public static FinalizerHold Begin()
    {
        lock (Sync)
        {
            if (holders == 0)
            {
                using var parked = new ManualResetEventSlim();
                var gate = new ManualResetEventSlim();
                Park(parked, gate);
                // The blocker is young: a gen-0 collection queues it; should it have been promoted meanwhile, a full one does.
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                while (!parked.Wait(50)) GC.Collect();
                release = gate;
            }
            holders++;
        }
        return new FinalizerHold();
    }

    /// <summary>True while some hold is active.</summary>
    public static bool IsHeld
    {
        get { lock (Sync) return holders > 0; }
    }

    /// <summary>Ends this hold; the finalizer thread resumes when the last overlapping hold ends. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        lock (Sync)
        {
            if (--holders == 0)
            {
                release!.Set();
                release = null;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Park(ManualResetEventSlim parked, ManualResetEventSlim gate) => _ = new Blocker(parked, gate);

    /// <summary>Unreachable at once; its finalizer signals that the finalizer thread is here and waits for the release.</summary>
    sealed class Blocker(ManualResetEventSlim parked, ManualResetEventSlim gate)
    {
        ~Blocker()
        {
            parked.Set();
            gate.Wait();
            gate.Dispose();
        }
    }
}
