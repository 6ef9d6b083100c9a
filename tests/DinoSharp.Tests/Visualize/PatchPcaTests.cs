using DinoSharp.Visualize;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Visualize;

public sealed class PatchPcaTests
{
    [Fact]
    public void Colours_are_identical_across_runs_and_components_match_svd_up_to_sign()
    {
        // Anisotropic tokens so the top three components are well separated.
        var g = new Generator(31);
        using var scales = torch.tensor(new float[] { 5, 3, 2, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f });
        using var tokens = torch.randn([3, 5, 7, 8], generator: g) * scales;
        var first = PatchPca.Compute(tokens);
        var second = PatchPca.Compute(tokens);
        Assert.Equal(3, first.Images.Count);
        Assert.All(first.Images, im => Assert.Equal((7, 5), (im.Width, im.Height)));
        for (int i = 0; i < 3; i++) Assert.Equal(first.Images[i].Pixels, second.Images[i].Pixels);
        Assert.Equal(first.Components, second.Components);

        // Reference: right singular vectors of the centred data.
        using var x = tokens.reshape(-1, 8).to(ScalarType.Float64);
        using var centred = x - x.mean([0], keepdim: true);
        var (_, s, vh) = torch.linalg.svd(centred, fullMatrices: false);
        for (int c = 0; c < 3; c++)
        {
            double dot = Enumerable.Range(0, 8).Sum(j => first.Components[c, j] * vh[c, j].item<double>());
            Assert.Equal(1.0, Math.Abs(dot), 4);
            // Sign convention: the largest-magnitude entry is positive.
            var row = Enumerable.Range(0, 8).Select(j => first.Components[c, j]).ToArray();
            Assert.True(row.MaxBy(Math.Abs) > 0);
        }
        using var variance = s.square();
        Assert.Equal((variance[0] / variance.sum()).item<double>(), first.ExplainedVarianceRatio[0], 4);
        // Min-max per component over all patches: each channel reaches 0 and 255 somewhere.
        for (int ch = 0; ch < 3; ch++)
        {
            var values = first.Images.SelectMany(im => im.Pixels.Where((_, k) => k % 3 == ch)).ToArray();
            Assert.Equal(0, values.Min());
            Assert.Equal(255, values.Max());
        }
        s.Dispose();
        vh.Dispose();
    }

    [Fact]
    public void Foreground_threshold_recovers_a_planted_object_on_the_chosen_side()
    {
        // Two 6×6 images; a 3×3 square per image carries +4·e0, everything else −4·e0, plus small noise.
        var g = new Generator(32);
        var planted = new bool[2][];
        using var tokens = torch.randn([2, 6, 6, 16], generator: g) * 0.1;
        for (int b = 0; b < 2; b++)
        {
            planted[b] = new bool[36];
            for (int y = 0; y < 6; y++)
                for (int x = 0; x < 6; x++)
                {
                    bool fg = y >= 1 + b && y < 4 + b && x >= 2 && x < 5;
                    planted[b][y * 6 + x] = fg;
                    tokens[b, y, x, 0] = tokens[b, y, x, 0] + (fg ? 4f : -4f);
                }
        }
        var above = PatchPca.Compute(tokens, new PatchPcaOptions { ForegroundThreshold = 0.5 });
        var below = PatchPca.Compute(tokens, new PatchPcaOptions { ForegroundThreshold = 0.5, ForegroundAbove = false });
        var refit = PatchPca.Compute(tokens, new PatchPcaOptions { ForegroundThreshold = 0.5, RefitOnForeground = true });
        for (int b = 0; b < 2; b++)
        {
            Assert.Equal(planted[b], above.Foreground[b]);
            Assert.Equal(planted[b].Select(f => !f), below.Foreground[b]);
            Assert.Equal(planted[b], refit.Foreground[b]);
            for (int p = 0; p < 36; p++)
                if (!planted[b][p])
                    Assert.Equal([0, 0, 0], refit.Images[b].Pixels[(p * 3)..(p * 3 + 3)]);
        }
        Assert.True(above.Components[0, 0] > 0.99f);      // PC1 is the planted direction, sign-fixed positive
    }

    [Fact]
    public void Png_upscale_keeps_patch_blocks()
    {
        using var tokens = torch.randn([1, 2, 3, 4], generator: new Generator(33));
        var result = PatchPca.Compute(tokens);
        string path = Path.Combine(Path.GetTempPath(), $"dinosharp-pca-{Guid.NewGuid():N}.png");
        try
        {
            PatchPca.SavePng(result.Images[0], path, 42, 28);
            var loaded = Png.Load(path);
            Assert.Equal((42, 28), (loaded.Width, loaded.Height));
            // Pixel (20, 20) lies in patch (x = 1, y = 1) of the 3 × 2 map.
            Assert.Equal(result.Images[0].Pixels[(1 * 3 + 1) * 3], loaded.Pixels[(20 * 42 + 20) * 3]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
