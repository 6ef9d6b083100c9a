namespace DinoSharp.Models;

/// <summary>A backbone named by --model, loaded, with what describes it: preprocessing, source name and weights hash.</summary>
/// <param name="Backbone">The network with its weights, on the CPU, owned by this record.</param>
/// <param name="Preprocessing">How images are prepared for it.</param>
/// <param name="Source">How it was named: run folder name (with @step for a checkpoint), file name, architecture or random:…</param>
/// <param name="WeightsSha256">Content hash of the weights (<see cref="Interop.WeightsContent.Sha256"/>): equal for equal tensors whatever file or layout they came from.</param>
public sealed record ResolvedBackbone(DinoVisionTransformer Backbone, Preprocessing Preprocessing, string Source, string WeightsSha256) : IDisposable
{
    /// <summary>Disposes the <see cref="Backbone"/>.</summary>
    public void Dispose() => Backbone.Dispose();
}
