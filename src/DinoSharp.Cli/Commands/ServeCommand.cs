using System.ComponentModel;
using System.Net;
using DinoSharp.Server;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

/// <summary>`dino serve`: parses the options and runs the explorer of DinoSharp.Server until Ctrl-C.</summary>
internal sealed class ServeCommand : AsyncCommand<ServeCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--data <DATASET>")]
        [Description("The images to explore: a folder, folder:<path>, fashion-mnist:test, idx:…, list:<file>.")]
        public string Data { get; init; } = "";

        [CommandOption("--store <STORE>")]
        [Description("Embedding store to reuse (same model identity) or create; default: a per-user cache folder keyed by model and data.")]
        public string? Store { get; init; }

        [CommandOption("--port <PORT>")]
        [Description("TCP port (default 8765; 0 = any free port).")]
        public int Port { get; init; } = 8765;

        [CommandOption("--host <ADDRESS>")]
        [Description("Address to listen on (default 127.0.0.1, this machine only); anything else exposes your images to the network.")]
        public string Host { get; init; } = "127.0.0.1";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.Model) || string.IsNullOrWhiteSpace(s.Data))
            throw new UserErrorException("--model and --data are required, e.g. dino serve --model runs/photos --data /var/cache/dinosharp/photos-all.");
        if (!IPAddress.TryParse(s.Host, out var host))
            throw new UserErrorException($"--host {s.Host}: not an IP address (use 127.0.0.1, or 0.0.0.0 for every interface).");
        if (!IPAddress.IsLoopback(host))
            Console.Error.WriteLine($"warning: --host {s.Host}: the explorer (your images, uploads) is reachable from other machines; it has no login.");
        var options = new ExplorerOptions
        {
            Model = s.Model, Data = s.Data, Store = s.Store, Host = host, Port = s.Port, Arch = s.Arch, Features = s.Features,
            ImageSize = s.ImageSize, BatchSize = s.BatchSize,
        };
        try
        {
            await using var server = await ExplorerServer.StartAsync(options, raw => s.OpenModel(raw));
            Console.WriteLine($"Explorer at {server.Address} (store {server.Index.StorePath}); Ctrl-C stops it.");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
            try { await server.RunUntilStoppedAsync(Console.Out, stop.Token); } catch (OperationCanceledException) { }
        }
        catch (ExplorerStartException e)
        {
            throw new UserErrorException(e.Message);
        }
        return CliRunner.Ok;
    }
}
