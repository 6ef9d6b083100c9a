namespace DinoSharp.Server;

// The JSON shapes of the API, in one place so the page and the tests read them from one file.

/// <summary>GET /api/status: phase and progress, and what the views can do with this model.</summary>
sealed record StatusResponse(string Phase, int Done, int Total, int Skipped, string Message, string Store, string Model,
    bool Labelled, IReadOnlyList<string> Classes, string? PatchUnavailable, string? AttentionUnavailable, int PatchSize, int DefaultSize);

/// <summary>One indexed image as lists show it.</summary>
sealed record ItemResponse(int Index, string Name, string Path, long? Label, string? Class);

/// <summary>GET /api/items: a page of the gallery.</summary>
sealed record ItemsResponse(int Total, int Offset, IReadOnlyList<ItemResponse> Items);

/// <summary>One neighbour: rank (1 = best), cosine score and the image.</summary>
sealed record HitResponse(int Rank, float Score, ItemResponse Item);

/// <summary>GET or POST /api/search: the query (an indexed row, or null for an upload) and its neighbours best first.</summary>
sealed record SearchResponse(int? Query, string QueryName, IReadOnlyList<HitResponse> Hits);

/// <summary>A group of near-duplicates: images joined by pairs at or above the threshold, with the lowest and highest pair score inside it.</summary>
sealed record DuplicateGroupResponse(IReadOnlyList<ItemResponse> Items, float MinScore, float MaxScore);

/// <summary>GET /api/duplicates: groups, largest first, and how many pairs formed them.</summary>
sealed record DuplicatesResponse(double Threshold, int Pairs, int Neighbours, IReadOnlyList<DuplicateGroupResponse> Groups);

/// <summary>One k-means cluster: size, majority class when labelled, and the images nearest its centroid with their cosine to it.</summary>
sealed record ClusterResponse(int Cluster, long Size, string? MajorityClass, double? MajorityShare, IReadOnlyList<HitResponse> Nearest);

/// <summary>GET /api/clusters: the clustering and, with labels, its purity and NMI.</summary>
sealed record ClustersResponse(int K, int Restarts, long Seed, double Inertia, double? Purity, double? Nmi, IReadOnlyList<ClusterResponse> Clusters);

/// <summary>GET /api/patches: cosine maps (row-major h × w) of one patch of image A against A and against B.</summary>
sealed record PatchesResponse(int Size, int GridHeight, int GridWidth, int Row, int Col, int A, int? B, float[] Same, float[]? Other);

/// <summary>Any refusal: the status code's reason in one line.</summary>
sealed record ErrorResponse(string Error);
