using System.Text.Json;
using System.Text.Json.Serialization;
using DinoSharp.Layers;
using DinoSharp.Losses;

namespace DinoSharp.Training;

/// <summary>
/// The names the config's enum-valued keys are written with (as in dinov2's YAML), one table per enum, used to read
/// and write them and in error messages: <c>train.centering</c>, <c>optim.scaling_rule</c>, <c>student.ffn_layer</c>.
/// </summary>
static class ConfigNames
{
    /// <summary><c>train.centering</c>.</summary>
    public static readonly ConfigEnumConverter<TeacherCentering> Centering = new(
        [("centering", TeacherCentering.Centering), ("sinkhorn_knopp", TeacherCentering.SinkhornKnopp)]);

    /// <summary><c>optim.scaling_rule</c>.</summary>
    public static readonly ConfigEnumConverter<LrScalingRule> ScalingRule = new(
        [("sqrt_wrt_1024", LrScalingRule.SqrtWrt1024), ("linear_wrt_256", LrScalingRule.LinearWrt256), ("none", LrScalingRule.None)]);

    /// <summary><c>student.ffn_layer</c> (dinov2's "swiglufused" is read as swiglu: the same function).</summary>
    public static readonly ConfigEnumConverter<FeedForwardKind> FfnLayer = new(
        [("mlp", FeedForwardKind.Mlp), ("swiglu", FeedForwardKind.SwiGLU), ("swiglufused", FeedForwardKind.SwiGLU)]);

    /// <summary><c>precision</c>.</summary>
    public static readonly ConfigEnumConverter<Precision> Precision = new(
        [("auto", Layers.Precision.Auto), ("fp32", Layers.Precision.Fp32), ("bf16", Layers.Precision.Bf16),
         ("float32", Layers.Precision.Fp32), ("bfloat16", Layers.Precision.Bf16)]);

    /// <summary>Edit distance (insertions, deletions, substitutions) for "did you mean" suggestions.</summary>
    public static int Levenshtein(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    /// <summary>The known name closest to <paramref name="value"/> when it is close enough to be a likely typo, else null.</summary>
    public static string? Suggest(string value, IEnumerable<string> known)
    {
        var best = known.OrderBy(k => Levenshtein(k, value)).FirstOrDefault();
        return best is not null && Levenshtein(best, value) <= Math.Max(2, value.Length / 3) ? best : null;
    }
}
