using DinoSharp.Distributed;
using System.Collections.Concurrent;

namespace DinoSharp.Data;

/// <summary>
/// Infinite, deterministic multi-crop batches. Epoch e visits the dataset in a Fisher–Yates order seeded by
/// (seed, e); the last incomplete batch of an epoch is dropped. Batch k is the same bytes whatever the number of
/// worker threads and whether the run started at 0 or resumed at k: every image's augmentation is seeded by
/// (seed, k, slot) and the masks by (seed, k). Worker threads each build whole batches (decode → augment → collate)
/// ahead of the consumer, at most <see cref="PrefetchBatches"/> ahead.
/// Images that fail to load (<see cref="UnreadableImages"/>: the one rule every reader shares) are reported once through the log callback, counted in <see cref="SkippedCount"/>, and
/// replaced by the next index that loads (so the replacement is deterministic too).
/// With a <see cref="Shard"/> i/n (data-parallel training, one loader per rank), every batch holds images
/// [i·B/n, (i+1)·B/n) of global batch k, with the crops and masks they have in the unsharded batch k.
/// </summary>
public sealed class MultiCropDataLoader
{
    readonly IImageDataset _dataset;
    readonly MultiCropAugmentation _augmentation;
    readonly MultiCropCollator _collator;
    readonly ConcurrentDictionary<int, bool> _bad = new();
    readonly UnreadableImages _unreadable;
    readonly bool _labelled;
    // A reference (not a value tuple) so workers swap it atomically.
    Tuple<long, int[]>? _epochOrder;

    /// <summary>A loader over <paramref name="dataset"/>; no thread starts until batches are enumerated.</summary>
    /// <param name="dataset">The images (labels, if any, are carried into <see cref="MultiCropBatch.Labels"/>).</param>
    /// <param name="augmentation">Makes each image's crops.</param>
    /// <param name="collator">Draws the iBOT masks; its grid must tile the global crop.</param>
    /// <param name="batchSize">Images per global batch (B); the dataset must hold at least one batch.</param>
    /// <param name="seed">Fixes epoch orders, augmentations and masks.</param>
    /// <param name="workers">Worker threads; null means one less than the cores (at least 1).</param>
    /// <param name="prefetchBatches">How many batches workers may build ahead of the consumer.</param>
    /// <param name="log">Receives one line per unreadable image; null discards them.</param>
    /// <param name="shard">Build only this part of every global batch (one rank's); null for the whole.</param>
    /// <exception cref="ArgumentException">The dataset is smaller than one batch, the mask grid does not tile the global crop, or B is not a multiple of the shard count.</exception>
    public MultiCropDataLoader(IImageDataset dataset, MultiCropAugmentation augmentation, MultiCropCollator collator,
        int batchSize, ulong seed, int? workers = null, int prefetchBatches = 4, Action<string>? log = null, Shard? shard = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(augmentation);
        ArgumentNullException.ThrowIfNull(collator);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetchBatches, 1);
        if (dataset.Count < batchSize)
            throw new ArgumentException($"Dataset '{dataset.Name}' has {dataset.Count} images, fewer than one batch of {batchSize}.", nameof(batchSize));
        int size = augmentation.Config.GlobalCropsSize;
        var m = collator.Masking;
        if (size % m.GridWidth != 0 || size % m.GridHeight != 0 || size / m.GridWidth != size / m.GridHeight)
            throw new ArgumentException($"Mask grid {collator.Masking.GridHeight}×{collator.Masking.GridWidth} does not tile the {size} px global crop.", nameof(collator));
        Shard = shard ?? Shard.Whole;
        if (batchSize % Shard.Count != 0)
            throw new ArgumentException($"A global batch of {batchSize} images does not split into {Shard.Count} equal shards; use a multiple of {Shard.Count}.", nameof(batchSize));
        _dataset = dataset;
        _augmentation = augmentation;
        _collator = collator;
        BatchSize = batchSize;
        Seed = seed;
        Workers = workers ?? Math.Max(1, Environment.ProcessorCount - 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Workers, 1, nameof(workers));
        PrefetchBatches = prefetchBatches;
        _unreadable = new UnreadableImages(log);
        _labelled = dataset.Label(0).HasValue;
    }

    /// <summary>Images in a global batch (B).</summary>
    public int BatchSize { get; }

    /// <summary>Which part of every global batch this loader builds (the whole by default).</summary>
    public Shard Shard { get; }

    /// <summary>Images in each batch this loader yields: B / shard count.</summary>
    public int ShardBatchSize => BatchSize / Shard.Count;

    /// <summary>The seed every epoch order, augmentation and mask derives from.</summary>
    public ulong Seed { get; }
    /// <summary>Number of worker threads building batches.</summary>
    public int Workers { get; }
    /// <summary>Most batches built ahead of the consumer.</summary>
    public int PrefetchBatches { get; }

    /// <summary>Full batches per epoch (drop_last).</summary>
    public int BatchesPerEpoch => _dataset.Count / BatchSize;

    /// <summary>Distinct images found unreadable so far.</summary>
    public int SkippedCount => _bad.Count;

    /// <summary>The dataset order of epoch <paramref name="epoch"/> (a copy).</summary>
    public int[] EpochOrder(long epoch) => (int[])Order(epoch).Clone();

    int[] Order(long epoch)
    {
        var cached = Volatile.Read(ref _epochOrder);
        if (cached is not null && cached.Item1 == epoch) return cached.Item2;
        int[] order = new DataRandom(DataRandom.Mix(Seed, (ulong)epoch, 0x0E90C4UL)).Permutation(_dataset.Count);
        Volatile.Write(ref _epochOrder, Tuple.Create(epoch, order));
        return order;
    }

    /// <summary>Builds batch <paramref name="iteration"/> on the calling thread.</summary>
    public MultiCropBatch BuildBatch(long iteration)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        long epoch = iteration / BatchesPerEpoch;
        int position = (int)(iteration % BatchesPerEpoch);
        int[] order = Order(epoch);
        var cfg = _augmentation.Config;
        int b = ShardBatchSize, first = Shard.Index * b;
        var global = new float[2 * b * _augmentation.GlobalCropLength];
        var local = new float[cfg.LocalCropsNumber * b * _augmentation.LocalCropLength];
        long[]? labels = _labelled ? new long[b] : null;
        for (int i = 0; i < b; i++)
        {
            int slot = first + i;  // the image's place in the global batch seeds its crops
            (int index, RgbImage image) = LoadGood(order[position * BatchSize + slot]);
            _augmentation.ApplyInto(image, DataRandom.Mix(Seed, (ulong)iteration, (ulong)slot), global, local, b, i);
            if (labels is not null) labels[i] = _dataset.Label(index) ?? -1;
        }
        var maskRng = new DataRandom(DataRandom.Mix(Seed, (ulong)iteration, 0x3A5C_0000UL));
        return _collator.Collate(global, local, b, cfg.GlobalCropsSize, cfg.LocalCropsSize, cfg.LocalCropsNumber, labels, maskRng, iteration,
            Shard.Count > 1 ? Shard : null);
    }

    /// <summary>
    /// Batches <paramref name="startIteration"/>, +1, … forever, built by <see cref="Workers"/> background threads.
    /// Dispose every batch after use; stopping the enumeration stops the workers and frees batches built ahead.
    /// </summary>
    public IEnumerable<MultiCropBatch> Batches(long startIteration = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startIteration);
        return Run(startIteration);
    }

    IEnumerable<MultiCropBatch> Run(long start)
    {
        using var cts = new CancellationTokenSource();
        using var capacity = new SemaphoreSlim(PrefetchBatches);
        var ready = new Dictionary<long, MultiCropBatch>();
        var gate = new object();
        Exception? failure = null;
        long next = start;

        void Work()
        {
            WorkerPriority.LowerCurrentThread();
            try
            {
                while (true)
                {
                    capacity.Wait(cts.Token);
                    long iteration = Interlocked.Increment(ref next) - 1;
                    var batch = BuildBatch(iteration);
                    lock (gate)
                    {
                        if (cts.IsCancellationRequested) { batch.Dispose(); return; }
                        ready[iteration] = batch;
                        Monitor.PulseAll(gate);
                    }
                }
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested) { }
            catch (Exception e)
            {
                lock (gate)
                {
                    failure ??= e;
                    Monitor.PulseAll(gate);
                }
            }
        }

        var threads = new Thread[Workers];
        for (int i = 0; i < threads.Length; i++)
        {
            threads[i] = new Thread(Work) { IsBackground = true, Name = $"DinoSharp data worker {i}" };
            threads[i].Start();
        }
        try
        {
            for (long iteration = start; ; iteration++)
            {
                MultiCropBatch? batch;
                lock (gate)
                {
                    while (!ready.Remove(iteration, out batch) && failure is null)
                        Monitor.Wait(gate);
                    if (batch is null)
                        throw new InvalidOperationException($"Data loading failed while building batch {iteration}: {failure!.Message}", failure);
                }
                capacity.Release();
                yield return batch;
            }
        }
        finally
        {
            cts.Cancel();
            foreach (var t in threads) t.Join();
            lock (gate)
            {
                foreach (var b in ready.Values) b.Dispose();
                ready.Clear();
            }
        }
    }

    (int Index, RgbImage Image) LoadGood(int index)
    {
        for (int tried = 0; tried < _dataset.Count; tried++, index = (index + 1) % _dataset.Count)
        {
            if (_bad.ContainsKey(index)) continue;
            if (_unreadable.TryLoad(_dataset, index, out var image)) return (index, image);
            _bad.TryAdd(index, true);
        }
        throw new InvalidOperationException($"No image of '{_dataset.Name}' could be loaded ({SkippedCount} unreadable).");
    }
}
