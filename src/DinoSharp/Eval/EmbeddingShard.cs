namespace DinoSharp.Eval;

/// <summary>What part of a dataset a shard store holds (saved in its sidecar; see <see cref="EmbeddingShards"/>).</summary>
/// <param name="Index">This shard, 0 … Count − 1.</param>
/// <param name="Count">How many shards the dataset was split into.</param>
/// <param name="Dataset">The dataset string the shards were embedded from, e.g. fashion-mnist:test.</param>
/// <param name="Images">Images in the whole dataset (after --limit).</param>
/// <param name="Start">First image index of this shard.</param>
/// <param name="End">One past the last image index of this shard (unreadable images in [Start, End) have no row).</param>
public sealed record EmbeddingShard(int Index, int Count, string Dataset, long Images, long Start, long End);
