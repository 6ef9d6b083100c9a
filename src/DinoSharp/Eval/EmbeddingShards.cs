using System.Globalization;
using DinoSharp.Distributed;

namespace DinoSharp.Eval;

/// <summary>
/// A dataset embedded in n parts (by n jobs of any scheduler, or the ranks of <c>mpirun</c>) and joined afterwards.
/// Shard i/n of store <c>S</c> holds images [i·N/n, (i+1)·N/n) of the dataset in <c>S.shard-0000i-of-0000n</c>;
/// <see cref="Merge"/> checks that the shards come from one model and cover the dataset exactly once, and writes
/// <c>S</c> with the rows in dataset order, as one process embedding the whole dataset would have.
/// </summary>
public static class EmbeddingShards
{
    const string Infix = ".shard-";

    /// <summary>The store path of <paramref name="shard"/> of store <paramref name="basePath"/>.</summary>
    public static string PathOf(string basePath, Shard shard)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(basePath);
        return string.Create(CultureInfo.InvariantCulture, $"{basePath}{Infix}{shard.Index:D5}-of-{shard.Count:D5}");
    }

    /// <summary>The shard stores of <paramref name="basePath"/> on disk (base paths, in name order).</summary>
    public static IReadOnlyList<string> Find(string basePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(basePath);
        string dir = Path.GetDirectoryName(Path.GetFullPath(basePath))!;
        if (!Directory.Exists(dir)) return [];
        return Directory.GetFiles(dir, Path.GetFileName(basePath) + Infix + "*-of-*" + EmbeddingStore.SidecarExtension)
            .Select(f => f[..^EmbeddingStore.SidecarExtension.Length]).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Joins the shards of <paramref name="basePath"/> into a new store there. Throws <see cref="FileNotFoundException"/>
    /// when there are none and <see cref="InvalidDataException"/> (naming the shard and what to do) when they do not
    /// come from one model and dataset, or miss or repeat a part of it. The shards are left in place.
    /// </summary>
    public static EmbeddingStore Merge(string basePath)
    {
        var paths = Find(basePath);
        if (paths.Count == 0)
            throw new FileNotFoundException($"No shards of '{basePath}' found (expected {Path.GetFileName(PathOf(basePath, new Shard(0, 2)))}.json …): embed them first with --shard i/n or under mpirun.");
        var shards = new List<EmbeddingStore>();
        try
        {
            foreach (var p in paths) shards.Add(EmbeddingStore.Open(p));
            Check(basePath, shards);
            var first = shards[0];
            var merged = EmbeddingStore.Create(basePath, first.Identity, first.Dimension);
            merged.Source = first.Source;
            merged.ClassNames.AddRange(shards.Select(s => s.ClassNames).FirstOrDefault(c => c.Count > 0) ?? []);
            foreach (var shard in shards.OrderBy(s => s.Shard!.Index)) merged.Append(shard);
            return merged;
        }
        finally
        {
            foreach (var s in shards) s.Dispose();
        }
    }

    static void Check(string basePath, List<EmbeddingStore> shards)
    {
        var first = shards[0];
        foreach (var s in shards)
        {
            var part = s.Shard ?? throw new InvalidDataException($"'{s.BasePath}' is not a shard (its sidecar has no shard record); remove it or re-embed it with --shard.");
            var p0 = first.Shard!;
            if (s.Identity != first.Identity)
                throw new InvalidDataException($"Shard '{s.BasePath}' comes from {s.Identity}, shard '{first.BasePath}' from {first.Identity}: re-embed the odd one with the same model and --features.");
            if (part.Count != p0.Count || part.Dataset != p0.Dataset || part.Images != p0.Images)
                throw new InvalidDataException($"Shard '{s.BasePath}' is part {part.Index}/{part.Count} of '{part.Dataset}' ({part.Images} images), shard '{first.BasePath}' part {p0.Index}/{p0.Count} of '{p0.Dataset}' ({p0.Images} images): the shards must split one dataset one way.");
            if (s.Count > part.End - part.Start)
                throw new InvalidDataException($"Shard '{s.BasePath}' holds {s.Count} rows for images [{part.Start}, {part.End}): it is corrupt; re-embed it.");
        }
        var byIndex = shards.GroupBy(s => s.Shard!.Index).ToDictionary(g => g.Key, g => g.ToList());
        if (byIndex.Values.FirstOrDefault(g => g.Count > 1) is { } twice)
            throw new InvalidDataException($"Shard {twice[0].Shard!.Index}/{twice[0].Shard!.Count} is there twice ('{twice[0].BasePath}', '{twice[1].BasePath}'): remove one.");
        int count = first.Shard!.Count;
        var missing = Enumerable.Range(0, count).Where(i => !byIndex.ContainsKey(i)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"Shard(s) {string.Join(", ", missing.Select(i => $"{i}/{count}"))} of '{basePath}' are missing: embed them with --shard (e.g. --shard {missing[0]}/{count}) before merging.");
        long expectedStart = 0;
        foreach (var part in shards.Select(s => s.Shard!).OrderBy(p => p.Index))
        {
            if (part.Start != expectedStart)
                throw new InvalidDataException($"Shard {part.Index}/{part.Count} starts at image {part.Start}, but the shards before it end at {expectedStart}: the shards overlap or leave a gap; re-embed them with one --limit.");
            expectedStart = part.End;
        }
        if (expectedStart != first.Shard!.Images)
            throw new InvalidDataException($"The shards cover images [0, {expectedStart}) of {first.Shard!.Images}: re-embed them with one --limit.");
    }
}
