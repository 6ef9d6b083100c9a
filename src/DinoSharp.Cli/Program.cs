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
});

return CliRunner.Run(() => app.Run(args), args);
