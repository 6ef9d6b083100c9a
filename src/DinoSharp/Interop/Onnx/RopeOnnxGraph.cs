using DinoSharp.Layers;
using static TorchSharp.torch;

namespace DinoSharp.Interop.Onnx;

/// <summary>
/// The parts of a DINOv3 ViT's ONNX graph that DINOv2's lacks: RoPE's sin/cos tables computed inside the graph from the
/// patch grid of the input (so one file serves every height and width), their application to q and k of the patch
/// tokens, and RMSNorm. Only plain operators (Range, Mul, Div, Expand, Concat, Sin, Cos, Slice, Split): no Tile and no
/// If, which some runtimes (TensorRT) do not take.
/// </summary>
static class RopeOnnxGraph
{
    /// <summary>
    /// sin and cos [h·w, D_head] of <see cref="RopePositionEmbedding.Forward"/> in eval mode for the grid
    /// <paramref name="grid"/> = [h, w] (int64, from the patch embedding's output shape), with the loaded
    /// <paramref name="periods"/> [D_head/4] as a constant: coordinates (i + ½)/div·2 − 1 per axis, angles
    /// coordinate·2π/period, laid out [row, column, row, column] (the reference's tile).
    /// </summary>
    public static (string Sin, string Cos) Tables(OnnxGraphBuilder g, RopeConfig config, Tensor periods, string grid)
    {
        using var _ = g.Scope("rope_embed");
        long quarter = periods.shape[0];
        var h = g.Gather(grid, g.Int64Scalar("h_index", 0), 0);                                // int64 scalars
        var w = g.Gather(grid, g.Int64Scalar("w_index", 1), 0);
        var hf = g.Cast(h, OnnxGraphBuilder.FloatType);
        var wf = g.Cast(w, OnnxGraphBuilder.FloatType);
        var (divH, divW) = config.NormalizeCoords switch
        {
            RopeCoordinateNormalization.Separate => (hf, wf),
            RopeCoordinateNormalization.Max => (g.Node("Max", [hf, wf])[0], g.Node("Max", [hf, wf])[0]),
            RopeCoordinateNormalization.Min => (g.Node("Min", [hf, wf])[0], g.Node("Min", [hf, wf])[0]),
            _ => throw new ArgumentException($"RoPE coordinate normalisation {config.NormalizeCoords} has no ONNX form here."),
        };
        var periodsConst = g.Initializer("periods", periods);                                   // [D/4]
        string Axis(string size, string div, string name)
        {
            var centres = g.Node("Range", [g.FloatScalar(name + "_start", 0.5f), size, g.FloatScalar(name + "_step", 1f)])[0];  // [n]
            var coords = g.Add(g.Mul(g.Div(centres, div), g.FloatScalar(name + "_two", 2f)), g.FloatScalar(name + "_minus_one", -1f));
            var scaled = g.Mul(coords, g.FloatScalar(name + "_two_pi", (float)(2 * Math.PI)));
            return g.Div(g.Reshape(scaled, g.Int64s(name + "_column", -1, 1)), periodsConst);   // [n, D/4]
        }
        var rows = g.Reshape(Axis(hf, divH, "rows"), g.Int64s("rows_shape", -1, 1, quarter));   // [h, 1, D/4]
        var columns = g.Reshape(Axis(wf, divW, "columns"), g.Int64s("columns_shape", 1, -1, quarter)); // [1, w, D/4]
        var full = g.Concat(0, grid, g.Int64s("quarter", quarter));                             // [h, w, D/4]
        rows = g.Expand(rows, full);
        columns = g.Expand(columns, full);
        var angles = g.Reshape(g.Concat(2, rows, columns, rows, columns), g.Int64s("flat", -1, 4 * quarter));  // [h·w, D]
        return (g.Node("Sin", [angles])[0], g.Node("Cos", [angles])[0]);
    }

    /// <summary>
    /// apply_rope on q or k [B, heads, N, D_head]: the first <paramref name="prefix"/> rows (cls and storage tokens) unchanged,
    /// the patch rows x·cos + rotate_half(x)·sin with rotate_half([a, b]) = [−b, a].
    /// </summary>
    public static string Apply(OnnxGraphBuilder g, string x, long prefix, long headDim, (string Sin, string Cos) rope)
    {
        var axis = g.Int64s("token_axis", 2);
        var head = g.Slice(x, g.Int64s("prefix_start", 0), g.Int64s("prefix_end", prefix), axis);
        var patches = g.Slice(x, g.Int64s("patch_start", prefix), g.Int64s("patch_end", long.MaxValue), axis);
        var halves = g.Split(patches, -1, g.Int64s("halves", headDim / 2, headDim / 2), 2);
        var rotated = g.Concat(-1, g.Node("Neg", [halves[1]])[0], halves[0]);
        var roped = g.Add(g.Mul(patches, rope.Cos), g.Mul(rotated, rope.Sin));
        return g.Concat(2, head, roped);
    }

    /// <summary>
    /// RMSNorm x·(mean(x²) + ε)^−½·weight over the last axis; the mean as a MatMul with a
    /// 1/D column (ReduceMean's signature changes at opset 18).
    /// </summary>
    public static string RmsNorm(OnnxGraphBuilder g, string x, Tensor weight, double eps, string name)
    {
        long dim = weight.shape[0];
        var meanColumn = g.Initializer(name + ".mean_column", full(dim, 1, 1.0 / dim));         // [D, 1]
        var meanSquare = g.MatMul(g.Mul(x, x), meanColumn);                                     // [..., 1]
        var inverse = g.Node("Reciprocal", [g.Node("Sqrt", [g.Add(meanSquare, g.FloatScalar("eps", (float)eps))])[0]])[0];
        return g.Mul(g.Mul(x, inverse), g.Initializer(name + ".weight", weight));
    }
}
