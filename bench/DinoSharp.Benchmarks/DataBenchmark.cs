using System.Diagnostics;
using DinoSharp.Data;
using DinoSharp.Models;
using DinoSharp.Training;

namespace DinoSharp.Benchmarks;

/// <summary>
/// Throughput of the data pipeline: decode, per-image multi-crop augmentation on one thread, and the threaded loader
/// end to end (decode + augment + collate into tensors). Prints samples/s.
/// </summary>
public sealed class DataBenchmark
{
    /// <summary>The python3-skimage photos that scripts/ensure-deps.sh extracts (DINOSHARP_PHOTOS overrides).</summary>
    public static string DefaultPhotoFolder =>
        Environment.GetEnvironmentVariable("DINOSHARP_PHOTOS") is { Length: > 0 } p ? p : "/var/cache/dinosharp/photos";

    public static void Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string photos = args.Length > 0 ? args[0] : DefaultPhotoFolder;
        Console.WriteLine($"Data pipeline benchmark ({Environment.ProcessorCount} cores)");

        // The crops of the shipped configs, so the figures are those `dino train` sees.
        var fashion = DefaultConfigs.FashionMnistCpu;
        Measure($"(a) Fashion-MNIST with {Describe(fashion)}", new FashionMnist(train: true), fashion.Crops, PatchSize(fashion),
            augmentSamples: 4000, batchSize: fashion.Train.BatchSize, loaderBatches: 12);

        if (!Directory.Exists(photos))
        {
            Console.WriteLine($"(b) skipped: no photo folder '{photos}' (run `bash scripts/ensure-deps.sh` as root, or pass a folder)");
            return;
        }
        // The colour photos only (PNG/JPEG of at least 200 px).
        var folder = new FolderDataset(photos);
        var good = Enumerable.Range(0, folder.Count).Where(i =>
        {
            try { var im = folder.Load(i); return im.Width >= 200 && im.Height >= 200; }
            catch (ImageDecodeException) { return false; }
        }).ToArray();
        var imagenet = DefaultConfigs.Load("vits14_imagenet");
        Measure($"(b) {good.Length} photos with {Describe(imagenet)}", new SubsetDataset(folder, good), imagenet.Crops,
            PatchSize(imagenet), augmentSamples: 60, batchSize: 16, loaderBatches: 6);
    }

    static int PatchSize(DinoTrainingConfig config) => VisionTransformerVariants.Get(config.Student.Arch).PatchSize;

    static string Describe(DinoTrainingConfig c) =>
        $"{c.Crops.GlobalCropsSize} px ×2 + {c.Crops.LocalCropsSize} px ×{c.Crops.LocalCropsNumber} crops (patch {PatchSize(c)})";

    static void Measure(string title, IImageDataset ds, CropConfig crops, int patchSize, int augmentSamples, int batchSize, int loaderBatches)
    {
        Console.WriteLine(title);
        var aug = new MultiCropAugmentation(crops);

        int decodeN = Math.Min(ds.Count, 200);
        var images = new RgbImage[decodeN];
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < decodeN; i++) images[i] = ds.Load(i);
        double decodeMs = sw.Elapsed.TotalMilliseconds / decodeN;
        Console.WriteLine($"  decode: {decodeMs:F3} ms/image ({1000 / decodeMs:F0} images/s on 1 thread)");

        for (int i = 0; i < Math.Min(20, augmentSamples); i++) aug.Apply(images[i % decodeN], (ulong)i); // warm-up
        sw.Restart();
        for (int i = 0; i < augmentSamples; i++) aug.Apply(images[i % decodeN], (ulong)i);
        double perSample = sw.Elapsed.TotalSeconds / augmentSamples;
        Console.WriteLine($"  augment only (all crops of one image): {perSample * 1e3:F3} ms/sample = {1 / perSample:F0} samples/s per thread");

        foreach (int workers in new[] { 1, 2 })
        {
            var loader = new MultiCropDataLoader(ds, aug, MultiCropCollator.ForCrops(crops, patchSize), batchSize,
                seed: 0, workers: workers, prefetchBatches: 4);
            int n = 0;
            Stopwatch? timer = null;
            foreach (var batch in loader.Batches())
            {
                batch.Dispose();
                // The first batch includes thread start-up and JIT: time from its arrival.
                if (n++ == 0) { timer = Stopwatch.StartNew(); continue; }
                if (n == loaderBatches + 1) break;
            }
            double s = timer!.Elapsed.TotalSeconds;
            Console.WriteLine($"  loader, {workers} worker(s), batch {batchSize}: {loaderBatches * batchSize / s:F0} samples/s " +
                $"({loaderBatches / s:F2} batches/s, decode + augment + collate)");
        }
    }
}
