using System.ComponentModel;
using DinoSharp.Eval;
using DinoSharp.IO;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

/// <summary>`dino embed merge`: joins the shards of a store written by `dino embed --shard i/n` (or under mpirun).</summary>
internal sealed class EmbedMergeCommand : Command<EmbedMergeCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--out <STORE>")]
        [Description("The store the shards were embedded for (the --out of dino embed): reads <STORE>.shard-*-of-*, writes <STORE>.")]
        public string Out { get; init; } = "";
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.Out))
            throw new UserErrorException("--out is required, e.g. dino embed merge --out stores/test.");
        using var writer = WriterLock.ForStore(s.Out, "--out", Messages.Warning);
        if (EmbeddingStore.Exists(s.Out))
            throw new UserErrorException($"{s.Out}: an embedding store already exists; remove it or merge into another --out.");
        using var store = EmbeddingShards.Merge(s.Out);
        store.Save();
        Console.WriteLine($"Merged {EmbeddingShards.Find(s.Out).Count} shards: {store.Count} images ({store.Dimension} dims) into {store.SafetensorsPath}.");
        return CliRunner.Ok;
    }
}
