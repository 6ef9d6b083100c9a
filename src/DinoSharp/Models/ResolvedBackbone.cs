namespace DinoSharp.Models;

/// <summary>A backbone named by --model, loaded, with what describes it: preprocessing, source name and weights hash.</summary>
public sealed record ResolvedBackbone(DinoVisionTransformer Backbone, Preprocessing Preprocessing, string Source, string WeightsSha256) : IDisposable
{
    public void Dispose() => Backbone.Dispose();
}
