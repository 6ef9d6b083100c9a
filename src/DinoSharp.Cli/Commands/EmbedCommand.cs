using System.ComponentModel;
using DinoSharp.Data;
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
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.Data) || string.IsNullOrWhiteSpace(s.Out))
            throw new UserErrorException("--data and --out are required, e.g. dino embed --model runs/fmnist --data fashion-mnist:test --out stores/test.");
        var dataset = DatasetSpec.Open(s.Data);
        using var embedder = s.OpenModel(dataset.Load(0).Width);
        // An existing store is checked (identity, or refusal to overwrite) before the work; a new one is created after
        // it, when the embedding width is known.
        EmbeddingStore? existing = s.Append ? EmbeddingStore.OpenForAppend(s.Out, embedder.Identity) : null;
        if (!s.Append && (File.Exists(s.Out + EmbeddingStore.SafetensorsExtension) || File.Exists(s.Out + EmbeddingStore.SidecarExtension)))
            throw new UserErrorException($"{s.Out}: an embedding store already exists; add to it with --append or choose another --out.");
        DatasetEmbedding.Result result;
        try { result = DatasetEmbedding.Embed(embedder, dataset, s.BatchSize, s.Quiet, s.Data, s.Limit); }
        catch { existing?.Dispose(); throw; }
        using var store = existing ?? EmbeddingStore.Create(s.Out, embedder.Identity, (int)result.Embeddings.shape[1]);
        store.Source ??= ModelSettings.SourceOf(s.Model);
        bool labelled = result.Labels.All(l => l >= 0);
        store.Append(result.Embeddings, result.Paths, labelled ? result.Labels.Select(l => (int)l).ToArray() : null, result.Sizes.ToArray());
        if (labelled && dataset.ClassNames is { } names && store.ClassNames.Count == 0) store.ClassNames.AddRange(names);
        store.Save();
        Console.WriteLine($"Embedded {result.Paths.Count} images ({result.Embeddings.shape[1]} dims) into {store.SafetensorsPath}" +
            (result.Skipped.Count > 0 ? $"; skipped {result.Skipped.Count} unreadable file(s)." : "."));
        return CliRunner.Ok;
    }
}
