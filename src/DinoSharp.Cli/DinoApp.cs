using DinoSharp.Cli.Commands;
using DinoSharp.Distributed;
using DinoSharp.Cli.Parsing;
using Spectre.Console.Cli;

namespace DinoSharp.Cli;

/// <summary>The `dino` command line: every verb with its description and examples.</summary>
internal static class DinoApp
{
    const string EmbedMergeVerb = DinoHelpProvider.EmbedMergeVerb;

    /// <summary>Runs `dino` with <paramref name="args"/>; errors go to <paramref name="errors"/> (default stderr). Returns the exit code.</summary>
    public static int Run(string[] args, TextWriter? errors = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        // Spectre.Console.Cli needs long options of two or more letters; `--k` is the documented spelling of `--ks`.
        // An option takes one value, so the documented `--size H W` becomes `--size H,W`.
        var normalized = JoinSizePair(args.Select(a => a == "--k" ? "--ks" : a.StartsWith("--k=", StringComparison.Ordinal) ? "--ks=" + a[4..] : a).ToList()).ToArray();
        if (normalized is ["embed", "merge", ..]) normalized = [EmbedMergeVerb, .. normalized[2..]];
        // `dino help [verb]` is `dino [verb] --help`.
        if (normalized is ["help", .. var about]) normalized = [.. about.Where(a => a != "--help" && a != "-h"), "--help"];
        var verbs = new Dictionary<string, Type>(StringComparer.Ordinal);
        var app = Create(verbs);
        int code = CliRunner.Run(() =>
        {
            ArgumentCheck.Validate(normalized, verbs, verbs.Keys.Where(v => v != EmbedMergeVerb && !v.Contains(' ')).Append("export").Append("help").ToList());
            return app.Run(normalized);
        }, normalized, errors);
        // One rank of an MPI job failed: end the others rather than leave them waiting in a collective.
        if (code != CliRunner.Ok) MpiCommunicator.AbortIfActive(code);
        return code;
    }

    static List<string> JoinSizePair(List<string> args)
    {
        int i = args.IndexOf("--size");
        if (i >= 0 && i + 2 < args.Count && int.TryParse(args[i + 1], out _) && int.TryParse(args[i + 2], out _))
        {
            args[i + 1] = $"{args[i + 1]},{args[i + 2]}";
            args.RemoveAt(i + 2);
        }
        return args;
    }

    /// <summary>The settings type of a command type (its Command&lt;TSettings&gt; or AsyncCommand&lt;TSettings&gt; argument).</summary>
    static Type SettingsOf(Type command)
    {
        for (var t = command; t is not null; t = t.BaseType)
            if (t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(Command<>) || t.GetGenericTypeDefinition() == typeof(AsyncCommand<>))) return t.GetGenericArguments()[0];
        throw new InvalidOperationException($"{command.Name} is not a Command<TSettings> or AsyncCommand<TSettings>.");
    }

    /// <summary>The version `dino --version` prints: the assembly's informational version.</summary>
    public static string Version =>
        typeof(DinoApp).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    static CommandApp Create(Dictionary<string, Type> verbs)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("dino");
            config.SetApplicationVersion(Version);
            config.UseStrictParsing();
            config.SetHelpProvider(new DinoHelpProvider(config.Settings));
            config.PropagateExceptions();
            Verb<TrainCommand>(config, "train", verbs)
                .WithDescription("Self-supervised DINOv2 training on unlabelled images.")
                .WithExample("train", "--minutes", "10")
                .WithExample("train", "--config", "configs/vits14_imagenet.json", "--data", "folder:/data/photos", "--out", "runs/photos", "--steps", "20000")
                .WithExample("train", "--out", "runs/fmnist", "--resume");
            Verb<EmbedCommand>(config, "embed", verbs)
                .WithDescription("Embed a dataset into an embedding store (safetensors + JSON); in shards with --shard i/n or under mpirun, joined by `dino embed merge`.")
                .WithExample("embed", "--model", "runs/fmnist", "--data", "fashion-mnist:test", "--out", "stores/fmnist-test")
                .WithExample("embed", "--model", "runs/fmnist", "--data", "fashion-mnist:train", "--out", "stores/train", "--shard", "0/4");
            // `dino embed merge` (DinoApp.Run rewrites it): a sub-verb of embed, whose own options stay in its --help.
            Verb<EmbedMergeCommand>(config, EmbedMergeVerb, verbs)
                .IsHidden()
                .WithDescription("Join the shards of an embedding store (from dino embed --shard i/n or mpirun) after checking they come from one model and cover the dataset once.")
                .WithExample("embed", "merge", "--out", "stores/train");
            Verb<KnnCommand>(config, "knn", verbs)
                .WithDescription("Weighted kNN classification (DINOv2 protocol) between a train and a test set.")
                .WithExample("knn", "--model", "runs/fmnist", "--train", "fashion-mnist:train", "--test", "fashion-mnist:test")
                .WithExample("knn", "--model", "raw", "--train", "fashion-mnist:train", "--test", "fashion-mnist:test", "--json", "raw.json");
            Verb<LinearCommand>(config, "linear", verbs)
                .WithDescription("Linear probe on frozen features (grid of learning rates, best on a validation split).")
                .WithExample("linear", "--model", "runs/fmnist", "--train", "fashion-mnist:train", "--test", "fashion-mnist:test");
            Verb<SearchCommand>(config, "search", verbs)
                .WithDescription("Nearest neighbours of a query image (or of every image of a dataset) in an embedding store: table, JSON and contact sheet.")
                .WithExample("search", "--store", "stores/fmnist-test", "--query", "shoe.png", "--top", "8", "--sheet", "shoe-neighbours.png")
                .WithExample("search", "--store", "stores/photos", "--model", "runs/photos", "--query", "folder:queries", "--json", "hits.json");
            Verb<ClusterCommand>(config, "cluster", verbs)
                .WithDescription("k-means (cosine, k-means++ restarts) on an embedding store: purity and NMI against labels, images nearest each centroid.")
                .WithExample("cluster", "--store", "stores/fmnist-test", "--k", "10")
                .WithExample("cluster", "--store", "stores/photos", "--k", "5", "--restarts", "20", "--json", "clusters.json", "--sheet-dir", "clusters");
            Verb<VisualizeCommand>(config, "visualize", verbs)
                .WithDescription("Patch-feature PCA pictures (fitted jointly over all images) and the last block's cls-to-patch attention per head, as PNGs.")
                .WithExample("visualize", "--model", "runs/photos", "--images", "photos/", "--out", "pictures")
                .WithExample("visualize", "--model", "dinov2_vits14_pretrain.pth", "--arch", "vit_small", "--images", "cat.jpg", "--images", "dog.jpg", "--image-size", "448", "--foreground", "0.35");
            Verb<BenchCommand>(config, "bench", verbs)
                .WithDescription("Speed and memory against this machine's matrix-multiply limit: inference, a training step by phase, the data pipeline, end to end.")
                .WithExample("bench")
                .WithExample("bench", "--threads", "2", "--json", "bench.json")
                .WithExample("bench", "--long");
            Verb<ConvertCommand>(config, "convert", verbs)
                .WithDescription("Convert backbone weights between Meta (.pth / .safetensors) and Hugging Face layouts.")
                .WithExample("convert", "--in", "dinov2_vits14_pretrain.pth", "--arch", "vit_small", "--to", "hf", "--out", "hf/dinov2-small");
            config.AddBranch("export", export =>
            {
                export.SetDescription("Export a backbone to another format.");
                VerbOf<ExportOnnxCommand>(export, "export onnx", verbs).AddCommand<ExportOnnxCommand>("onnx")
                    .WithDescription("Write a backbone as an ONNX graph (fixed input size, dynamic batch) for ONNX Runtime; use it with --backend onnx.")
                    .WithExample("export", "onnx", "--model", "runs/fmnist", "--out", "fmnist.onnx")
                    .WithExample("export", "onnx", "--model", "dinov2_vits14_pretrain.pth", "--arch", "vit_small", "--out", "vits14.onnx", "--size", "224", "224", "--outputs", "cls,patch");
            });
            Verb<ServeCommand>(config, "serve", verbs)
                .WithDescription("Explore a folder in the browser: gallery, search by click or upload, near-duplicates, clusters, patch-similarity maps.")
                .WithExample("serve", "--model", "runs/photos", "--data", "/var/cache/dinosharp/photos-all");
            Verb<ReportCommand>(config, "report", verbs)
                .WithDescription("Write a run's HTML report (plots of losses, schedules, kNN over time, collapse signals, confusion matrix, config).")
                .WithExample("report", "runs/fmnist");
        });
        return app;
    }

    static ICommandConfigurator Verb<TCommand>(IConfigurator config, string name, Dictionary<string, Type> verbs) where TCommand : class, ICommand
    {
        verbs[name] = SettingsOf(typeof(TCommand));
        return config.AddCommand<TCommand>(name);
    }

    static IConfigurator<CommandSettings> VerbOf<TCommand>(IConfigurator<CommandSettings> branch, string name, Dictionary<string, Type> verbs) where TCommand : class, ICommand
    {
        verbs[name] = SettingsOf(typeof(TCommand));
        return branch;
    }
}
