using DinoSharp.Eval;

namespace DinoSharp.Server;

/// <summary>
/// Near-duplicates: every image's nearest neighbours (the library's chunked exact search, computed once and kept),
/// pairs at or above a cosine threshold, joined into groups (connected components).
/// </summary>
sealed class DuplicateFinder(ExplorerIndex index)
{
    /// <summary>Neighbours kept per image: a group can grow beyond this through chains of pairs.</summary>
    public const int Neighbours = 8;
    readonly Lazy<Task<IReadOnlyList<IReadOnlyList<SearchHit>>>> neighbours = new(() =>
        TorchWork.RunAsync(() => index.Search.Search(index.Store.Embeddings, Neighbours + 1)));

    /// <summary>Groups with at least two images, largest first (ties: the highest pair score), at most <paramref name="limit"/>.</summary>
    public async Task<DuplicatesResponse> Find(double threshold, int limit)
    {
        var all = await neighbours.Value;
        int n = all.Count;
        var parent = Enumerable.Range(0, n).ToArray();
        int Root(int i) { while (parent[i] != i) i = parent[i] = parent[parent[i]]; return i; }
        var pairs = new List<(int A, int B, float Score)>();
        for (int i = 0; i < n; i++)
            foreach (var hit in all[i])
                if (hit.Index != i && hit.Score >= threshold && i < hit.Index)
                {
                    pairs.Add((i, (int)hit.Index, hit.Score));
                    parent[Root(i)] = Root((int)hit.Index);
                }
        // A pair found from one side only (j is among i's neighbours, not the other way round) still counts once.
        foreach (var hit in Enumerable.Range(0, n).SelectMany(i => all[i].Where(h => h.Index < i && h.Score >= threshold).Select(h => (A: (int)h.Index, B: i, h.Score))))
            if (!all[hit.A].Any(h => h.Index == hit.B))
            {
                pairs.Add((hit.A, hit.B, hit.Score));
                parent[Root(hit.A)] = Root(hit.B);
            }
        var groups = pairs.GroupBy(p => Root(p.A)).Select(g =>
        {
            var members = g.SelectMany(p => new[] { p.A, p.B }).Distinct().Order().ToList();
            return new DuplicateGroupResponse(members.Select(m => ExplorerApi.Item(index, m)).ToList(), g.Min(p => p.Score), g.Max(p => p.Score));
        }).OrderByDescending(g => g.Items.Count).ThenByDescending(g => g.MaxScore).Take(limit).ToList();
        return new DuplicatesResponse(threshold, pairs.Count, Neighbours, groups);
    }
}
