using DinoSharp.Data;
using DinoSharp.Layers;
using DinoSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Benchmarking;

/// <summary>How closely a backbone's bf16 outputs follow its fp32 ones on the same images: cosine similarity per token.</summary>
/// <param name="Images">Images compared.</param>
/// <param name="ClsMeanCosine">Mean over images of cos(cls_bf16, cls_fp32).</param>
/// <param name="ClsMinCosine">The smallest of those.</param>
/// <param name="PatchMeanCosine">Mean over every patch token of every image.</param>
/// <param name="PatchMinCosine">The smallest patch-token cosine.</param>
public sealed record PrecisionAgreement(int Images, double ClsMeanCosine, double ClsMinCosine, double PatchMeanCosine, double PatchMinCosine)
{
    /// <summary>Embeds <paramref name="images"/> with <paramref name="extractor"/> in fp32 and in bf16 (one image per forward) and compares the tokens.</summary>
    public static PrecisionAgreement Measure(FeatureExtractor extractor, IReadOnlyList<RgbImage> images)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("No images to compare.", nameof(images));
        var saved = extractor.Precision;
        var cls = new List<double>();
        var patch = new List<float>();
        try
        {
            foreach (var image in images)
            {
                using var scope = torch.NewDisposeScope();
                var x = extractor.Preprocess([image]);
                extractor.Precision = Precision.Fp32;
                using var f32 = extractor.Extract(x);
                extractor.Precision = Precision.Bf16;
                using var b16 = extractor.Extract(x);
                cls.Add(nn.functional.cosine_similarity(f32.ClsToken, b16.ClsToken, dim: 1).item<float>());
                patch.AddRange(nn.functional.cosine_similarity(f32.PatchTokens, b16.PatchTokens, dim: 2).flatten().data<float>().ToArray());
            }
        }
        finally
        {
            extractor.Precision = saved;
        }
        return new PrecisionAgreement(images.Count, cls.Average(), cls.Min(), patch.Average(x => (double)x), patch.Min());
    }
}
