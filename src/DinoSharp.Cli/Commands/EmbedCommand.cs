using System.ComponentModel;
using DinoSharp.Data;
using DinoSharp.Distributed;
using DinoSharp.Eval;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

internal sealed class EmbedCommand : Command<EmbedCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--data <DATASET>")]
        [Description("Dataset string: fashion-mnist:test, folder:<path>, idx:<images>[[,<labels>]], list:<file>, or a folder path.")]
        public string Data { get; init; } = "";

        [CommandOption("--out <STORE>")]
        [Description("Embedding store path without extension: writes <STORE>.safetensors and <STORE>.json.")]
        public string Out { get; init; } = "";

        [CommandOption("--append")]
        [Description("Add to an existing store (it must come from the same model, preprocessing and feature kind).")]
        public bool Append { get; init; }

        [CommandOption("--limit <N>")]
        [Description("Embed only the first N images.")]
        public int? Limit { get; init; }

        [CommandOption("--shard <I/N>")]
        [Description("Embed only part I of N (0-based) into <STORE>.shard-0000I-of-0000N, for N jobs of any scheduler; join them with dino embed merge. Under mpirun -np N each rank takes its own part without this option.")]
        public string? Shard { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.Data) || string.IsNullOrWhiteSpace(s.Out))
            throw new UserErrorException("--data and --out are required, e.g. dino embed --model runs/fmnist --data fashion-mnist:test --out stores/test.");
        var shard = ChooseShard(s);
        if (shard is not null && s.Append) throw new UserErrorException("--append cannot add to a shard: embed each shard once, then join them with dino embed merge.");
        string outPath = shard is { } part ? EmbeddingShards.PathOf(s.Out, part) : s.Out;
        OutputPath.CheckFile("--out", outPath + ".safetensors");
        var dataset = DatasetSpec.Open(s.Data);
        int images = Math.Min(s.Limit ?? dataset.Count, dataset.Count);
        var (start, end) = (shard ?? Shard.Whole).Range(images);
        using var embedder = s.OpenModel(dataset.Load(0).Width);
        // An existing store is checked (identity, or refusal to overwrite) before the work; a new one is created after
        // it, when the embedding width is known.
        EmbeddingStore? existing;
        try { existing = s.Append ? EmbeddingStore.OpenForAppend(outPath, embedder.Identity) : null; }
        catch (EmbeddingStoreMismatchException e)
        {
            throw new UserErrorException(e.Message + " Use the model, --features and --image-size the store was made with, or another --out.");
        }
        if (!s.Append && EmbeddingStore.Exists(outPath))
            throw new UserErrorException($"{outPath}: an embedding store already exists; add to it with --append or choose another --out.");
        EmbeddedDataset result;
        try
        {
            result = DatasetEmbedding.Embed(embedder, dataset, s.BatchSize, s.Quiet, s.Data, (int)end, (int)start);
            if (existing is not null) result = WithoutRowsIn(existing, result);
        }
        catch { existing?.Dispose(); throw; }
        using var embedded = result;
        using var store = existing ?? EmbeddingStore.Create(outPath, embedder.Identity, (int)result.Embeddings.shape[1]);
        store.Source ??= ModelSettings.SourceOf(s.Model);
        if (shard is { } p) store.Shard = new EmbeddingShard(p.Index, p.Count, s.Data, images, start, end);
        bool labelled = result.Labels.All(l => l >= 0);
        store.Append(result.Embeddings, result.Paths, labelled ? result.Labels.Select(l => (int)l).ToArray() : null, result.Sizes.ToArray());
        if (labelled && dataset.ClassNames is { } names && store.ClassNames.Count == 0) store.ClassNames.AddRange(names);
        store.Save();
        Console.WriteLine($"Embedded {result.Paths.Count} images ({result.Embeddings.shape[1]} dims) into {store.SafetensorsPath}" +
            (result.Skipped.Count > 0 ? $"; skipped {result.Skipped.Count} unreadable file(s)." : "."));
        return CliRunner.Ok;
    }

    /// <summary>The rows of <paramref name="result"/> whose image the store does not hold yet: --append twice would otherwise make every search return duplicates.</summary>
    static EmbeddedDataset WithoutRowsIn(EmbeddingStore store, EmbeddedDataset result)
    {
        var held = store.Rows.Select(r => r.Path).ToHashSet(StringComparer.Ordinal);
        var keep = Enumerable.Range(0, result.Paths.Count).Where(i => !held.Contains(result.Paths[i])).ToArray();
        if (keep.Length == result.Paths.Count) return result;
        if (keep.Length == 0)
            throw new UserErrorException($"{store.BasePath} already holds all {result.Paths.Count} images of this dataset; nothing to append.");
        Messages.Warning($"{result.Paths.Count - keep.Length} of the {result.Paths.Count} images are already in {store.BasePath} (e.g. {result.Paths.First(held.Contains)}); appending only the {keep.Length} new ones.");
        using var index = TorchSharp.torch.tensor(keep.Select(i => (long)i).ToArray());
        var embeddings = result.Embeddings.index_select(0, index);
        result.Embeddings.Dispose();
        return result with
        {
            Embeddings = embeddings,
            Labels = keep.Select(i => result.Labels[i]).ToArray(),
            Paths = keep.Select(i => result.Paths[i]).ToList(),
            Sizes = keep.Select(i => result.Sizes[i]).ToList(),
        };
    }

    /// <summary>--shard i/n, or this rank's part under mpirun -np n; null for the whole dataset.</summary>
    static Shard? ChooseShard(Settings s)
    {
        var launched = Communicator.LaunchedRank();
        if (s.Shard is null) return launched;
        if (launched is not null)
            throw new UserErrorException($"--shard {s.Shard} under mpirun -np {launched.Value.Count}: each rank already embeds its own part; use one or the other.");
        return Shard.Parse(s.Shard);
    }
}
