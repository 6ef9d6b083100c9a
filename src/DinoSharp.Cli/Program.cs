using DinoSharp.Cli;
using DinoSharp.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("dino");
    config.PropagateExceptions();
    config.AddCommand<TrainCommand>("train")
        .WithDescription("Self-supervised DINOv2 training on unlabelled images.")
        .WithExample("train", "--minutes", "10")
        .WithExample("train", "--config", "configs/vits14_imagenet.json", "--data", "folder:/data/photos", "--out", "runs/photos", "--steps", "20000")
        .WithExample("train", "--out", "runs/fmnist", "--resume");
    config.AddCommand<EmbedCommand>("embed")
        .WithDescription("Embed a dataset into an embedding store (safetensors + JSON).")
        .WithExample("embed", "--model", "runs/fmnist", "--data", "fashion-mnist:test", "--out", "stores/fmnist-test");
    config.AddCommand<KnnCommand>("knn")
        .WithDescription("Weighted kNN classification (DINOv2 protocol) between a train and a test set.")
        .WithExample("knn", "--model", "runs/fmnist", "--train", "fashion-mnist:train", "--test", "fashion-mnist:test")
        .WithExample("knn", "--model", "raw", "--train", "fashion-mnist:train", "--test", "fashion-mnist:test", "--json", "raw.json");
    config.AddCommand<LinearCommand>("linear")
        .WithDescription("Linear probe on frozen features (grid of learning rates, best on a validation split).")
        .WithExample("linear", "--model", "runs/fmnist", "--train", "fashion-mnist:train", "--test", "fashion-mnist:test");
    config.AddCommand<ConvertCommand>("convert")
        .WithDescription("Convert backbone weights between Meta (.pth / .safetensors) and Hugging Face layouts.")
        .WithExample("convert", "--in", "dinov2_vits14_pretrain.pth", "--arch", "vit_small", "--to", "hf", "--out", "hf/dinov2-small");
    config.AddBranch("export", export =>
    {
        export.SetDescription("Export a backbone to another format.");
        export.AddCommand<ExportOnnxCommand>("onnx")
            .WithDescription("Write a backbone as an ONNX graph (fixed input size, dynamic batch) for ONNX Runtime; use it with --backend onnx.")
            .WithExample("export", "onnx", "--model", "runs/fmnist", "--out", "fmnist.onnx")
            .WithExample("export", "onnx", "--model", "dinov2_vits14_pretrain.pth", "--arch", "vit_small", "--out", "vits14.onnx", "--size", "224", "224", "--outputs", "cls,patch");
    });
    config.AddCommand<ReportCommand>("report")
        .WithDescription("Write a run's HTML report (plots of losses, schedules, kNN over time, collapse signals, confusion matrix, config).")
        .WithExample("report", "runs/fmnist");
});

// Spectre.Console.Cli needs long options of two or more letters; `--k` is the documented spelling of `--ks`.
// An option takes one value, so the documented `--size H W` becomes `--size H,W`.
var normalized = JoinSizePair(args.Select(a => a == "--k" ? "--ks" : a.StartsWith("--k=", StringComparison.Ordinal) ? "--ks=" + a[4..] : a).ToList()).ToArray();
return CliRunner.Run(() => app.Run(normalized), normalized);

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
