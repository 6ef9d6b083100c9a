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
    config.AddCommand<ReportCommand>("report")
        .WithDescription("Write a run's HTML report (plots of losses, schedules, kNN over time, collapse signals, confusion matrix, config).")
        .WithExample("report", "runs/fmnist");
});

// Spectre.Console.Cli needs long options of two or more letters; `--k` is the documented spelling of `--ks`.
var normalized = args.Select(a => a == "--k" ? "--ks" : a.StartsWith("--k=", StringComparison.Ordinal) ? "--ks=" + a[4..] : a).ToArray();
return CliRunner.Run(() => app.Run(normalized), normalized);
