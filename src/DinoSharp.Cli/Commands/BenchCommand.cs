using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using DinoSharp.Benchmarking;
using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Layers;
using DinoSharp.Interop.Onnx;
using DinoSharp.Models;
using DinoSharp.Training;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;

namespace DinoSharp.Cli.Commands;

internal sealed class BenchCommand : Command<BenchCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--json <FILE>")]
        [Description("Also write every figure as JSON.")]
        public string? Json { get; init; }

        [CommandOption("--long")]
        [Description("Also run 1,000 training steps through the loader and compare resident memory at step 100 and step 1,000.")]
        public bool Long { get; init; }

        [CommandOption("--long-steps <N>")]
        [Description("Steps of the --long run (default 1000; memory is sampled at a tenth and at the end).")]
        public int LongSteps { get; init; } = 1000;

        [CommandOption("--photos <FOLDER>")]
        [Description("Real photos for the bf16 accuracy figure and the ViT-S/14 training step (default /var/cache/dinosharp/photos; skipped when absent).")]
        public string Photos { get; init; } = "/var/cache/dinosharp/photos";

        [CommandOption("--model <MODEL>")]
        [Description("A trained model (a run folder, weights file, ...) for the bf16 accuracy on Fashion-MNIST: mean cosine bf16 vs fp32 on 256 test images, and kNN@20 (60,000 / 10,000 images) embedded both ways.")]
        public string? Model { get; init; }

        [CommandOption("--no-vits-training")]
        [Description("Skip the ViT-S/14-sized training step (a few steps per precision; minutes on a loaded machine; always skipped on a CPU without native bfloat16).")]
        public bool NoVitsTraining { get; init; }

        public bool VitsTraining => !NoVitsTraining;

        [CommandOption("--workers <N>")]
        [Description("Loader threads for the training figures (default: as `dino train`, half the cores).")]
        public int? Workers { get; init; }
    }

    static IReadOnlyList<MatmulMeasurement> Best(IReadOnlyList<MatmulMeasurement> best, IReadOnlyList<MatmulMeasurement> round) =>
        best.Count == 0 ? round : best.Zip(round, (a, b) => a.GflopsPerSecond >= b.GflopsPerSecond ? a : b).ToList();

    static InferenceMeasurement Faster(InferenceMeasurement? best, InferenceMeasurement m) =>
        best is null || m.ImagesPerSecond > best.ImagesPerSecond ? m : best;

    sealed record Row(string Section, string Measurement, string Value, string Note);

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.LongSteps < 10) throw new UserErrorException($"--long-steps {s.LongSteps}: must be at least 10.");
        if (s.Workers is <= 0) throw new UserErrorException($"--workers {s.Workers}: must be at least 1.");
        OutputPath.CheckFile("--json", s.Json);
        s.ApplyThreads();
        // A --model that cannot be measured is refused now, not after minutes of benchmarks.
        using var trainedModel = s.Model is null ? null : TrainedAgreement.Open(s.Model);
        var total = Stopwatch.StartNew();
        var rows = new List<Row>();
        void Log(string what) { if (!s.Quiet) Console.Error.WriteLine($"[{total.Elapsed.TotalSeconds,5:F0} s] {what}"); }
        static string F(double v, string format = "F1") => v.ToString(format, CultureInfo.InvariantCulture);

        var config = DefaultConfigs.FashionMnistCpu;
        var cpuBackbone = SslMetaArch.ResolveBackbone(config);
        var vits = VisionTransformerVariants.Get("vit_small");
        const int VitsSize = 224, VitsBatch = 8, CpuBatch = 256, VitsTrainBatch = 8;
        int cpuSize = config.Crops.GlobalCropsSize;
        int threads = torch.get_num_threads();

        // 1. The machine's limits: float32 and bfloat16 matmul at the shapes of the two inference workloads.
        Log("matrix-multiply rates, float32 and bfloat16");
        long vitsTokens = VitsBatch * (1 + (VitsSize / vits.PatchSize) * (VitsSize / vits.PatchSize));
        long cpuTokens = CpuBatch * (1 + (cpuSize / cpuBackbone.PatchSize) * (cpuSize / cpuBackbone.PatchSize));
        var shapes = MatmulRate.ViTShapes(vitsTokens, vits.EmbedDim).Concat(MatmulRate.ViTShapes(cpuTokens, cpuBackbone.EmbedDim)).ToList();
        // Best of three alternating rounds per precision: other work on a shared machine only ever slows a round down.
        IReadOnlyList<MatmulMeasurement> matmuls = [], matmulsBf16 = [];
        for (int round = 0; round < 3; round++)
        {
            matmuls = Best(matmuls, MatmulRate.Measure(shapes, 0.25));
            matmulsBf16 = Best(matmulsBf16, MatmulRate.Measure(shapes, 0.25, Precision.Bf16));
        }
        double limit = matmuls.Max(m => m.GflopsPerSecond), limitBf16 = matmulsBf16.Max(m => m.GflopsPerSecond);
        double LimitOf(string precision) => precision == "bf16" ? limitBf16 : limit;
        // A CPU without native bfloat16 emulates it, each operation its own way: the bf16 matmul rate is then no ceiling.
        bool emulatedBf16 = !ComputePrecision.CpuHasNativeBf16;
        string OfLimit(double gflops, string precision) => precision == "bf16" && emulatedBf16
            ? "(bf16 emulated on this CPU: no limit to compare with)"
            : $"= {F(gflops / LimitOf(precision), "P0")} of the {precision} limit";
        foreach (var m in matmuls)
            rows.Add(new Row("limit", $"float32 matmul {m}", $"{F(m.GflopsPerSecond)} GFLOP/s", m.GflopsPerSecond == limit ? "the fp32 limit (best shape)" : ""));
        foreach (var (m, f) in matmulsBf16.Zip(matmuls))
            rows.Add(new Row("limit", $"bfloat16 matmul {m}", $"{F(m.GflopsPerSecond)} GFLOP/s",
                (m.GflopsPerSecond == limitBf16 ? "the bf16 limit (best shape); " : "") + $"{F(m.GflopsPerSecond / f.GflopsPerSecond, "F2")}× float32 at this shape" +
                (emulatedBf16 ? " (emulated: no native bfloat16 on this CPU)" : "")));

        // 2. Backbone inference.
        Log("ViT-S/14 inference, TorchSharp fp32 and bf16 and ONNX Runtime, alternated");
        torch.manual_seed(0);
        InferenceMeasurement? vitsInf = null, vitsBf16Inf = null, ortInf = null, ortAttentionInf = null, ortInt8Inf = null;
        using (var vit = new DinoVisionTransformer(vits))
        {
            var onnxDir = Directory.CreateTempSubdirectory("dinosharp-bench-");
            try
            {
                // The same weights through ONNX Runtime: standard operators, and com.microsoft.Attention.
                var options = new OnnxExportOptions { Height = VitsSize, Width = VitsSize, Outputs = OnnxOutputs.Cls | OnnxOutputs.Patch };
                string standard = Path.Combine(onnxDir.FullName, "vits14.onnx"), attention = Path.Combine(onnxDir.FullName, "vits14-attention.onnx");
                OnnxExporter.Export(vit, standard, options);
                string int8 = Path.Combine(onnxDir.FullName, "vits14-int8.onnx");
                OnnxExporter.Export(vit, attention, options with { OrtAttention = true });
                OnnxExporter.Export(vit, int8, options with { Int8Linears = true });
                using var ort = new OnnxBackboneEmbedder(standard, threads: threads);
                using var ortAttention = new OnnxBackboneEmbedder(attention, threads: threads);
                using var ortInt8 = new OnnxBackboneEmbedder(int8, threads: threads);
                // Best of two alternating rounds: other work on a shared machine only ever slows a round down.
                for (int round = 0; round < 2; round++)
                {
                    // fp32 and bf16 in short alternating slices (the load of a shared machine changes within seconds).
                    for (int slice = 0; slice < 3; slice++)
                    {
                        vitsInf = Faster(vitsInf, InferenceThroughput.Measure("ViT-S/14", vit, VitsSize, VitsBatch, minSeconds: 0.5));
                        vitsBf16Inf = Faster(vitsBf16Inf, InferenceThroughput.Measure("ViT-S/14, bf16", vit, VitsSize, VitsBatch, minSeconds: 0.5, precision: Precision.Bf16));
                    }
                    ortInf = Faster(ortInf, InferenceThroughput.Measure("ViT-S/14, ONNX Runtime", ort, vits, VitsSize, VitsBatch, minSeconds: 2));
                    ortAttentionInf = Faster(ortAttentionInf, InferenceThroughput.Measure("ViT-S/14, ONNX Runtime + Attention op", ortAttention, vits, VitsSize, VitsBatch, minSeconds: 2));
                    ortInt8Inf = Faster(ortInt8Inf, InferenceThroughput.Measure("ViT-S/14, ONNX Runtime int8 Linears", ortInt8, vits, VitsSize, VitsBatch, minSeconds: 2) with { Precision = "int8" });
                }
            }
            finally
            {
                onnxDir.Delete(recursive: true);
            }
        }
        Log("default CPU backbone inference, fp32 and bf16");
        InferenceMeasurement cpuInf, cpuBf16Inf;
        using (var vit = new DinoVisionTransformer(cpuBackbone))
        {
            InferenceMeasurement? f32 = null, b16 = null;
            for (int slice = 0; slice < 4; slice++)
            {
                f32 = Faster(f32, InferenceThroughput.Measure(config.Student.Arch, vit, cpuSize, CpuBatch, minSeconds: 0.5));
                b16 = Faster(b16, InferenceThroughput.Measure(config.Student.Arch + ", bf16", vit, cpuSize, CpuBatch, minSeconds: 0.5, precision: Precision.Bf16));
            }
            (cpuInf, cpuBf16Inf) = (f32!, b16!);
        }
        InferenceMeasurement[] inference = [vitsInf!, vitsBf16Inf!, ortInf!, ortAttentionInf!, ortInt8Inf!, cpuInf, cpuBf16Inf, .. Dinov3Bench.Measure(threads, Log)];
        foreach (var m in inference)
        {
            var fp32 = m == vitsBf16Inf ? vitsInf : m == cpuBf16Inf ? cpuInf : m == ortInt8Inf ? ortInf : null;
            // No int8 limit is measured (libtorch has no CPU int8 matmul to time): its float-equivalent rate is set against the fp32 limit.
            string limitOf = m.Precision == "int8" ? "fp32" : m.Precision;
            rows.Add(new Row("inference", $"{m.Name} {m.ImageSize} px, batch {m.BatchSize}", $"{F(m.ImagesPerSecond)} images/s",
                $"{F(m.FlopsPerImage.Total / 1e9, "F3")} GFLOP/image → {F(m.GflopsPerSecond)} GFLOP/s {OfLimit(m.GflopsPerSecond, limitOf)}" +
                (fp32 is null ? "" : $"; {F(m.ImagesPerSecond / fp32.ImagesPerSecond, "F2")}× {(m == ortInt8Inf ? "ONNX Runtime fp32" : "fp32")}")));
        }

        // 3. Training steps of the default config in both precisions, then a ViT-S/14-sized step (model only).
        Log("training steps, fp32 and bf16, model only and through the loader, alternated");
        using var profiler = new StepProfiler(config, s.Workers, Precision.Fp32);
        // Eight rounds: a step takes about half a second on 2 quiet cores (several under load), and two steps per mode
        // moved the end-to-end ratio by ±5 % between runs.
        StepProfile modelOnly, endToEnd, modelOnlyBf16, endToEndBf16;
        using (var bf16Profiler = new StepProfiler(config, s.Workers, Precision.Bf16))
            ((modelOnly, endToEnd), (modelOnlyBf16, endToEndBf16)) = StepProfiler.Alternated(profiler, bf16Profiler, warmup: 2, steps: 8);
        Log("data pipeline alone");
        double dataRate = DataThroughput.ImagesPerSecond(profiler.Loader, batches: 6);
        int b = config.Train.BatchSize;
        string stepName = $"{config.Student.Arch}, batch {b}, 2×{config.Crops.GlobalCropsSize} + {config.Crops.LocalCropsNumber}×{config.Crops.LocalCropsSize} px";
        foreach (var (precision, mo, ee) in new[] { ("fp32", modelOnly, endToEnd), ("bf16", modelOnlyBf16, endToEndBf16) })
        {
            string suffix = precision == "fp32" ? "" : ", bf16";
            rows.Add(new Row("training", $"step, model only ({stepName}{suffix})", $"{F(mo.ImagesPerSecond)} images/s",
                $"{F(mo.WallSecondsPerStep * 1e3, "F0")} ms/step, {F(mo.FlopsPerStep / b / 1e9, "F2")} GFLOP/image → {F(mo.GflopsPerSecond)} GFLOP/s {OfLimit(mo.GflopsPerSecond, precision)}" +
                (precision == "fp32" ? "" : $"; {F(mo.ImagesPerSecond / modelOnly.ImagesPerSecond, "F2")}× fp32")));
            foreach (var (phase, secs) in Phases(mo))
                rows.Add(new Row("training", $"  {phase}{suffix}", $"{F(secs * 1e3)} ms", $"{F(secs / mo.WallSecondsPerStep, "P0")} of the step"));
            rows.Add(new Row("training", $"step, end to end ({profiler.Workers} loader thread(s){suffix})", $"{F(ee.ImagesPerSecond)} images/s",
                $"{F(ee.ImagesPerSecond / mo.ImagesPerSecond, "P0")} of the model-only rate; data wait {F(ee.DataWait * 1e3)} ms/step" +
                (precision == "fp32" ? "" : $"; {F(ee.ImagesPerSecond / endToEnd.ImagesPerSecond, "F2")}× fp32")));
        }
        rows.Add(new Row("data", $"loader alone ({profiler.Workers} thread(s), decode + multi-crop + masks + collate)", $"{F(dataRate)} images/s",
            $"{F(dataRate / modelOnly.ImagesPerSecond, "F1")}× the model-only step rate"));

        (StepProfile Fp32, StepProfile Bf16)? vitsStep = null;
        string vitsStepName = "";
        if (s.VitsTraining && emulatedBf16)
        {
            // Emulated bfloat16 makes the bf16 ViT-S/14-sized step take many minutes and says nothing a user can act on.
            Log("ViT-S/14-sized training step skipped: this CPU has no native bfloat16 dot products (its bf16 step would be emulated)");
            rows.Add(new Row("training", "step, model only (vits14_imagenet)", "skipped", "no native bfloat16 on this CPU; the matmul and inference rows show what emulated bf16 costs"));
        }
        else if (s.VitsTraining && Directory.Exists(s.Photos))
        {
            var vitsConfig = DefaultConfigs.Load("vits14_imagenet", [$"train.dataset=folder:{s.Photos}", $"train.batch_size={VitsTrainBatch}", "train.num_workers=1"]);
            vitsStepName = $"vits14_imagenet, batch {VitsTrainBatch}, 2×{vitsConfig.Crops.GlobalCropsSize} + {vitsConfig.Crops.LocalCropsNumber}×{vitsConfig.Crops.LocalCropsSize} px, {vitsConfig.Dino.HeadNPrototypes} prototypes";
            Log($"training steps, {vitsStepName}, fp32 and bf16 alternated, model only");
            using var vitsFp32 = new StepProfiler(vitsConfig, 1, Precision.Fp32);
            using var vitsBf16 = new StepProfiler(vitsConfig, 1, Precision.Bf16);
            var (vf, vb) = StepProfiler.Alternated(vitsFp32, vitsBf16, warmup: 1, steps: 3, endToEnd: false);
            List<StepProfile> profiles = [vf.ModelOnly, vb.ModelOnly];
            vitsStep = (profiles[0], profiles[1]);
            foreach (var (precision, mo) in new[] { ("fp32", profiles[0]), ("bf16", profiles[1]) })
            {
                rows.Add(new Row("training", $"step, model only ({vitsStepName}, {precision})", $"{F(mo.ImagesPerSecond, "F2")} images/s",
                    $"{F(mo.WallSecondsPerStep, "F1")} s/step → {F(mo.GflopsPerSecond)} GFLOP/s {OfLimit(mo.GflopsPerSecond, precision)}" +
                    (precision == "fp32" ? "" : $"; {F(mo.ImagesPerSecond / profiles[0].ImagesPerSecond, "F2")}× fp32")));
                foreach (var (phase, secs) in Phases(mo).Skip(1))
                    rows.Add(new Row("training", $"  {phase}, {precision}", $"{F(secs * 1e3, "F0")} ms", $"{F(secs / mo.WallSecondsPerStep, "P0")} of the step"));
            }
        }

        // 4. The accuracy cost of bf16: ViT-S/14 with LayerScale 1 (seed 0, so the output depends on the image) on real photos.
        PrecisionAgreement? agreement = null;
        (double Mean, double Min)? int8Agreement = null;
        if (Directory.Exists(s.Photos))
        {
            Log($"bf16 against fp32 on the photos in {s.Photos}");
            torch.manual_seed(0);
            var photos = DatasetSpec.Open("folder:" + s.Photos);
            var images = Enumerable.Range(0, Math.Min(photos.Count, 32)).Select(photos.Load).ToList();
            using var vit = new DinoVisionTransformer(vits with { InitValues = 1.0 });
            using var extractor = new FeatureExtractor(vit, new Preprocessing { Size = VitsSize, ResizeShorter = 256 });
            agreement = PrecisionAgreement.Measure(extractor, images);
            int8Agreement = OnnxInt8Agreement(vit, extractor, images, threads);
            rows.Add(new Row("accuracy", $"bf16 vs fp32, ViT-S/14 LayerScale 1 seed 0, {agreement.Images} photos", $"cls {F(agreement.ClsMeanCosine, "F5")}",
                $"mean cosine (min {F(agreement.ClsMinCosine, "F5")})"));
            rows.Add(new Row("accuracy", "  patch tokens", $"{F(agreement.PatchMeanCosine, "F5")}", $"mean cosine (min {F(agreement.PatchMinCosine, "F5")})"));
            rows.Add(new Row("accuracy", "  ONNX Runtime int8 Linears vs fp32, cls", $"{F(int8Agreement.Value.Mean, "F5")}", $"mean cosine (min {F(int8Agreement.Value.Min, "F5")})"));
        }
        else
        {
            rows.Add(new Row("accuracy", "bf16 vs fp32 on real photos", "skipped", $"no folder {s.Photos} (--photos)"));
        }

        // 4b. The same for a trained model on Fashion-MNIST, and what it does to kNN@20.
        TrainedAgreement? trained = null;
        if (s.Model is not null)
        {
            Log($"bf16 against fp32 for {s.Model} on Fashion-MNIST");
            trained = TrainedAgreement.Measure(trainedModel!);
            rows.Add(new Row("accuracy", $"bf16 vs fp32, {s.Model}, {trained.Cosine.Images} Fashion-MNIST test images", $"cls {F(trained.Cosine.ClsMeanCosine, "F5")}",
                $"mean cosine (min {F(trained.Cosine.ClsMinCosine, "F5")})"));
            rows.Add(new Row("accuracy", "  patch tokens", $"{F(trained.Cosine.PatchMeanCosine, "F5")}", $"mean cosine (min {F(trained.Cosine.PatchMinCosine, "F5")})"));
            rows.Add(new Row("accuracy", "  kNN@20, 60,000 / 10,000 images", $"bf16 {F(trained.KnnBf16, "P2")}", $"fp32 {F(trained.KnnFp32, "P2")}"));
        }

        // 5. Memory.
        IReadOnlyList<(int Step, long Rss, long PeakRss)>? longRun = null;
        if (s.Long)
        {
            int early = Math.Max(1, s.LongSteps / 10);
            Log($"long run: {s.LongSteps} steps through the loader");
            longRun = profiler.MemoryOverRun(s.LongSteps, [early, s.LongSteps], step => { if (step % early == 0) Log($"  step {step}"); });
            var (first, last) = (longRun[0], longRun[^1]);
            rows.Add(new Row("memory", $"RSS at step {first.Step}", $"{F(first.Rss / 1048576.0, "F0")} MiB", ""));
            rows.Add(new Row("memory", $"RSS at step {last.Step}", $"{F(last.Rss / 1048576.0, "F0")} MiB",
                $"{F((double)last.Rss / first.Rss - 1, "+0.0%;-0.0%")} vs step {first.Step}"));
        }
        var (rss, peak) = ResidentMemory.Read();
        rows.Add(new Row("memory", "RSS now / peak", $"{F(rss / 1048576.0, "F0")} / {F(peak / 1048576.0, "F0")} MiB", s.Long ? "" : "--long compares step 100 with step 1000"));

        var outputs = new OutputFiles();
        if (s.Json is not null)
        {
            outputs.AddJson(s.Json, new
            {
                machine = new { cores = Environment.ProcessorCount, torch_threads = threads, loader_threads = profiler.Workers, native_bf16 = ComputePrecision.CpuHasNativeBf16 },
                matmul = matmuls.Select(m => new { m = m.M, k = m.K, n = m.N, gflops_per_second = m.GflopsPerSecond }),
                matmul_limit_gflops_per_second = limit,
                matmul_bf16 = matmulsBf16.Select(m => new { m = m.M, k = m.K, n = m.N, gflops_per_second = m.GflopsPerSecond }),
                matmul_limit_bf16_gflops_per_second = limitBf16,
                inference = inference.Select(m => new
                {
                    model = m.Name, image_size = m.ImageSize, batch = m.BatchSize, images_per_second = m.ImagesPerSecond,
                    gflops_per_image = m.FlopsPerImage.Total / 1e9, gflops_per_second = m.GflopsPerSecond, fraction_of_limit = m.GflopsPerSecond / limit,
                    flops_breakdown = m.FlopsPerImage,
                    precision = m.Precision, fraction_of_own_limit = m.GflopsPerSecond / LimitOf(m.Precision),
                }),
                inference_bf16_speedup = new
                {
                    vits14 = vitsBf16Inf!.ImagesPerSecond / vitsInf!.ImagesPerSecond,
                    default_backbone = cpuBf16Inf.ImagesPerSecond / cpuInf.ImagesPerSecond,
                },
                training = new
                {
                    config = "fashion_mnist_cpu", batch = b,
                    model_only = StepJson(modelOnly, limit, limit),
                    end_to_end = StepJson(endToEnd, limit, limit),
                    end_to_end_fraction_of_model_only = endToEnd.ImagesPerSecond / modelOnly.ImagesPerSecond,
                    bf16 = new
                    {
                        model_only = StepJson(modelOnlyBf16, limit, limitBf16),
                        end_to_end = StepJson(endToEndBf16, limit, limitBf16),
                        model_only_speedup = modelOnlyBf16.ImagesPerSecond / modelOnly.ImagesPerSecond,
                        end_to_end_speedup = endToEndBf16.ImagesPerSecond / endToEnd.ImagesPerSecond,
                    },
                },
                training_vits14 = vitsStep is { } v ? new
                {
                    step = vitsStepName, batch = VitsTrainBatch,
                    fp32_model_only = StepJson(v.Fp32, limit, limit),
                    bf16_model_only = StepJson(v.Bf16, limit, limitBf16),
                    bf16_speedup = v.Bf16.ImagesPerSecond / v.Fp32.ImagesPerSecond,
                } : null,
                bf16_accuracy = agreement is null ? null : new
                {
                    model = "vit_small patch 14, LayerScale 1, seed 0, 224 px", photos = s.Photos, images = agreement.Images,
                    cls_mean_cosine = agreement.ClsMeanCosine, cls_min_cosine = agreement.ClsMinCosine,
                    patch_mean_cosine = agreement.PatchMeanCosine, patch_min_cosine = agreement.PatchMinCosine,
                },
                bf16_accuracy_trained = trained is null ? null : new
                {
                    model = s.Model, images = trained.Cosine.Images,
                    cls_mean_cosine = trained.Cosine.ClsMeanCosine, cls_min_cosine = trained.Cosine.ClsMinCosine,
                    patch_mean_cosine = trained.Cosine.PatchMeanCosine, patch_min_cosine = trained.Cosine.PatchMinCosine,
                    knn20_fp32 = trained.KnnFp32, knn20_bf16 = trained.KnnBf16,
                },
                onnx_runtime_int8 = new
                {
                    speedup_over_ort_fp32 = ortInt8Inf!.ImagesPerSecond / ortInf!.ImagesPerSecond,
                    cls_mean_cosine_vs_fp32 = int8Agreement?.Mean, cls_min_cosine_vs_fp32 = int8Agreement?.Min,
                },
                data_pipeline_images_per_second = dataRate,
                memory = new
                {
                    rss_bytes = rss, peak_rss_bytes = peak,
                    long_run = longRun?.Select(x => new { step = x.Step, rss_bytes = x.Rss, peak_rss_bytes = x.PeakRss }),
                },
                seconds = total.Elapsed.TotalSeconds,
            });
        }
        var written = outputs.Commit();

        var table = new Table().AddColumn("").AddColumn("measurement").AddColumn(new TableColumn("value").RightAligned()).AddColumn("note");
        foreach (var r in rows) table.AddRow(Markup.Escape(r.Section), Markup.Escape(r.Measurement), Markup.Escape(r.Value), Markup.Escape(r.Note));
        AnsiConsole.Write(new Rule($"dino bench: {Environment.ProcessorCount} cores, {threads} libtorch thread(s), {profiler.Workers} loader thread(s), {F(total.Elapsed.TotalSeconds, "F0")} s"));
        AnsiConsole.Write(table);
        foreach (var path in written) Console.WriteLine($"Wrote {path}");
        return CliRunner.Ok;
    }

    /// <summary>cls cosine between <paramref name="vit"/> exported with int8 Linears and the fp32 torch forward, through ONNX Runtime, on <paramref name="images"/>.</summary>
    static (double Mean, double Min) OnnxInt8Agreement(DinoVisionTransformer vit, FeatureExtractor extractor, IReadOnlyList<RgbImage> images, int threads)
    {
        var dir = Directory.CreateTempSubdirectory("dinosharp-bench-int8-");
        try
        {
            string path = Path.Combine(dir.FullName, "int8.onnx");
            OnnxExporter.Export(vit, path, new OnnxExportOptions { Preprocessing = extractor.Preprocessing, Outputs = OnnxOutputs.Cls, Int8Linears = true });
            using var ort = new OnnxBackboneEmbedder(path, threads: threads);
            using var scope = torch.NewDisposeScope();
            var saved = extractor.Precision;
            extractor.Precision = Precision.Fp32;
            var reference = extractor.Extract(images).ClsToken;
            extractor.Precision = saved;
            var cosine = torch.nn.functional.cosine_similarity(reference, ort.Embed(images), dim: 1).data<float>().ToArray();
            return (cosine.Average(c => (double)c), cosine.Min());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>bf16 against fp32 for a trained model on Fashion-MNIST: token cosines on 256 test images, and kNN@20 on the full splits embedded in each precision.</summary>
    sealed record TrainedAgreement(PrecisionAgreement Cosine, double KnnFp32, double KnnBf16)
    {
        /// <summary>The model and Fashion-MNIST's splits, checked before any benchmark runs.</summary>
        public sealed record Inputs(BackboneEmbedder Embedder, IImageDataset Train, IImageDataset Test) : IDisposable
        {
            public void Dispose() => Embedder.Dispose();
        }

        public static Inputs Open(string model)
        {
            if (ModelResolver.IsRawPixels(model)) throw new UserErrorException($"--model {model}: raw pixels have no precision to compare; give a trained model (a run folder).");
            var train = DatasetSpec.Open("fashion-mnist:train");
            var test = DatasetSpec.Open("fashion-mnist:test");
            var opened = ModelResolver.Open(model);
            if (opened is BackboneEmbedder embedder) return new Inputs(embedder, train, test);
            string identity = opened.Identity.ToString();
            opened.Dispose();
            throw new UserErrorException($"--model {model}: bf16 applies to a TorchSharp backbone (a run folder, weights file or random:<arch>), not to {identity}.");
        }

        public static TrainedAgreement Measure(Inputs inputs)
        {
            var (embedder, train, test) = inputs;
            var cosine = PrecisionAgreement.Measure(embedder.Extractor, Enumerable.Range(0, Math.Min(test.Count, 256)).Select(test.Load).ToList());
            double Knn(Precision precision)
            {
                embedder.Extractor.Precision = precision;
                using var data = LabelledFeatures.Embed(embedder, train, test);
                using var knn = new KnnClassifier(data.TrainX, data.TrainY, data.ClassNames.Count, new KnnOptions { Ks = [20] });
                return knn.Evaluate(data.TestX, data.TestY).PerK[0].Top1;
            }
            return new TrainedAgreement(cosine, Knn(Precision.Fp32), Knn(Precision.Bf16));
        }
    }

    static IEnumerable<(string, double)> Phases(StepProfile p) =>
    [
        ("data wait", p.DataWait), ("teacher forward", p.Teacher), ("student forward + losses", p.StudentForward),
        ("backward", p.Backward), ("zero_grad + clip + AdamW", p.Optimizer), ("EMA", p.Ema),
    ];

    static object StepJson(StepProfile p, double limit, double ownLimit) => new
    {
        steps = p.Steps, seconds_per_step = p.WallSecondsPerStep, images_per_second = p.ImagesPerSecond,
        gflops_per_step = p.FlopsPerStep / 1e9, gflops_per_second = p.GflopsPerSecond, fraction_of_limit = p.GflopsPerSecond / limit,
        fraction_of_own_limit = p.GflopsPerSecond / ownLimit,
        phases_seconds = new { data_wait = p.DataWait, teacher = p.Teacher, student_forward = p.StudentForward, backward = p.Backward, optimizer = p.Optimizer, ema = p.Ema },
    };
}
