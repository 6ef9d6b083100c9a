namespace DinoSharp.Interop.Onnx;

/// <summary>What an ONNX file's graph is made of, e.g. to see which fusions ONNX Runtime applied to an exported model.</summary>
public static class OnnxGraphSummary
{
    /// <summary>Node count per operator, keyed "op" for the standard domain and "domain:op" otherwise, most frequent first.</summary>
    public static IReadOnlyList<(string Operator, int Count)> CountOperators(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new CheckpointException($"{path}: not a readable ONNX model ({e.Message}).", e);
        }
        return model.Graph.Node
            .GroupBy(n => string.IsNullOrEmpty(n.Domain) || n.Domain == "ai.onnx" ? n.OpType : $"{n.Domain}:{n.OpType}")
            .Select(g => (g.Key, g.Count()))
            .OrderByDescending(g => g.Item2).ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
    }
}
