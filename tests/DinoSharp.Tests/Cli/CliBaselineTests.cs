using DinoSharp.Data;
using DinoSharp.Eval;
using DinoSharp.Models;
using DinoSharp.Tests.Data;
using DinoSharp.Tests.Reliability;

namespace DinoSharp.Tests.Cli;

/// <summary>The untrained baseline is not degenerate, and near-identical embeddings are called out on every verb that embeds.</summary>
public sealed class CliBaselineTests : IDisposable
{
    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    [Fact]
    public void Random_arch_uses_layerscale_one_and_tells_different_images_apart()
    {
        Assert.Equal(1.0, ModelResolver.RandomBackbone("vit_small").InitValues);
        Assert.Equal(1e-5, VisionTransformerVariants.Get("vit_small").InitValues);   // the named variant keeps the reference's training init
        Assert.Contains("seed 0, LayerScale init 1", ModelResolver.DescribeRandom("vit_small"));

        var images = Enumerable.Range(0, 4).Select(i => TestImages.Pattern(64 + 8 * i, 64, seed: 20 + i)).ToList();
        using var embedder = ModelResolver.Open("random:vit_small");
        using var e = embedder.Embed(images);
        double cosine = EmbeddingMath.MeanPairwiseCosine(e);
        // With the reference init (1e-5) this is 1.000000 on any images; LayerScale 1 gives distinct embeddings.
        Assert.True(cosine < 0.99, $"mean pairwise cosine {cosine}");
    }

    [Fact]
    public void Mean_pairwise_cosine_is_the_mean_over_distinct_pairs()
    {
        using var x = TorchSharp.torch.tensor(new float[] { 1, 0, 0, 1, 1, 1 }, [3, 2]);
        // Pairs: (e1, e2) 0, (e1, (1,1)/√2) 1/√2, (e2, (1,1)/√2) 1/√2.
        Assert.Equal(2 / Math.Sqrt(2) / 3, EmbeddingMath.MeanPairwiseCosine(x), 6);
        using var same = TorchSharp.torch.ones(5, 3);
        Assert.Equal(1.0, EmbeddingMath.MeanPairwiseCosine(same), 6);
    }

    [Fact]
    public void Embedding_near_identical_images_warns_once_on_stderr()
    {
        var png = TestImages.Png(TestImages.Pattern(16, 16, seed: 3));
        for (int i = 0; i < 4; i++) files.Write($"same/img{i}.png", png);
        for (int i = 0; i < 4; i++) files.Write($"varied/img{i}.png", TestImages.Png(TestImages.Pattern(16, 16, seed: 30 + i)));
        var (code, _, stderr) = DinoCli.Run(["embed", "--model", "raw:8", "--data", files.PathOf("same"), "--out", Path.Combine(files.Folder, "s1"), "--quiet"]);
        Assert.Equal(0, code);
        Assert.Single(stderr.Split('\n'), l => l.StartsWith("warning: the embeddings of raw are near-identical (mean pairwise cosine 1.000000", StringComparison.Ordinal));
        (code, _, stderr) = DinoCli.Run(["embed", "--model", "raw:8", "--data", files.PathOf("varied"), "--out", Path.Combine(files.Folder, "s2"), "--quiet"]);
        Assert.Equal(0, code);
        Assert.DoesNotContain("near-identical", stderr, StringComparison.Ordinal);
    }
}
