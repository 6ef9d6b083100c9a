using DinoSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Visualize;

/// <summary>
/// The DINOv2 patch-feature picture: the first three principal components of all patch tokens of a set of images,
/// fitted jointly so equal colours mean similar features across images, mapped to RGB by per-component min-max.
/// Components are the top eigenvectors of the covariance (float64 eigh, exact and deterministic), each with its sign
/// fixed so that its largest-magnitude entry is positive: eigenvectors are only defined up to sign, and without this
/// the colours of two runs or two machines could be inverted.
/// </summary>
public static class PatchPca
{
    const int Components = 3;

    /// <summary>Fits the three components on all patch tokens of the batch and maps each patch to a colour.</summary>
    /// <param name="patchTokens">[B, h, w, D] patch tokens (D ≥ 3), any float dtype and device.</param>
    /// <param name="options">Foreground threshold and second pass; defaults: no foreground separation.</param>
    public static PatchPcaResult Compute(Tensor patchTokens, PatchPcaOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(patchTokens);
        if (patchTokens.dim() != 4 || patchTokens.shape[3] < Components)
            throw new ArgumentException($"Expected patch tokens [B, h, w, D ≥ 3], got [{string.Join(", ", patchTokens.shape)}].", nameof(patchTokens));
        options ??= new PatchPcaOptions();
        if (options.RefitOnForeground && options.ForegroundThreshold is null)
            throw new ArgumentException("PatchPcaOptions.RefitOnForeground needs a ForegroundThreshold.", nameof(options));
        long b = patchTokens.shape[0], h = patchTokens.shape[1], w = patchTokens.shape[2], d = patchTokens.shape[3];
        if (b * h * w < 2)
            throw new ArgumentException("PCA needs at least two patches.", nameof(patchTokens));

        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = patchTokens.reshape(b * h * w, d).to(ScalarType.Float64);                // [M, D]
        var (components, ratio) = Fit(x);                                                 // [3, D]
        var projected = Scale01(Project(x, components));                                  // [M, 3] in [0, 1]

        var foreground = torch.ones(b * h * w, ScalarType.Bool, x.device);
        if (options.ForegroundThreshold is double threshold)
        {
            var pc1 = projected.select(1, 0);
            foreground = options.ForegroundAbove ? pc1 > threshold : pc1 < threshold;
            if (options.RefitOnForeground)
            {
                var fgRows = foreground.nonzero().squeeze(1);
                if (fgRows.shape[0] >= 2)
                {
                    var xf = x.index_select(0, fgRows);
                    (components, ratio) = Fit(xf);
                    projected = torch.zeros_like(projected).index_copy_(0, fgRows, Scale01(Project(xf, components)));
                }
            }
            projected = projected * foreground.unsqueeze(1);                              // background → black
        }

        using var rgbCpu = projected.mul(255).round().clamp(0, 255).to(ScalarType.Byte).cpu();
        using var fgCpu = foreground.cpu();
        using var compCpu = components.to(ScalarType.Float32).cpu();
        var rgb = rgbCpu.data<byte>().ToArray();
        var fg = fgCpu.data<bool>().ToArray();
        int perImage = (int)(h * w);
        var images = new RgbImage[b];
        var masks = new bool[b][];
        for (int i = 0; i < b; i++)
        {
            images[i] = new RgbImage((int)w, (int)h, rgb.AsSpan(i * perImage * 3, perImage * 3).ToArray());
            masks[i] = fg.AsSpan(i * perImage, perImage).ToArray();
        }
        var comp = compCpu.data<float>().ToArray();
        var compArray = new float[Components, d];
        for (int c = 0; c < Components; c++)
            for (int j = 0; j < d; j++) compArray[c, j] = comp[c * d + j];
        return new PatchPcaResult(images, masks, compArray, ratio);
    }

    /// <summary>Writes one PCA image upscaled (nearest neighbour, so patches stay visible) to the source image's size.</summary>
    public static void SavePng(RgbImage pcaImage, string path, int imageWidth, int imageHeight) =>
        Png.Save(pcaImage, path, imageWidth, imageHeight, smooth: false);

    /// <summary>Top-3 sign-fixed principal directions [3, D] of the rows of x (float64) and their explained-variance ratios.</summary>
    static (Tensor Components, double[] Ratio) Fit(Tensor x)
    {
        var centred = x - x.mean([0], keepdim: true);
        var covariance = centred.t().matmul(centred) / (x.shape[0] - 1);                 // [D, D]
        var (eigenvalues, eigenvectors) = torch.linalg.eigh(covariance);                  // ascending
        long d = x.shape[1];
        var top = eigenvectors.narrow(1, d - Components, Components).flip(1).t();         // [3, D], largest first
        var signs = top.gather(1, top.abs().argmax(1, keepdim: true)).sign();             // [3, 1]
        top = top * torch.where(signs == 0, torch.ones_like(signs), signs);
        var values = eigenvalues.clamp_min(0);
        using var topValues = values.narrow(0, d - Components, Components).flip(0).cpu();
        double total = values.sum().item<double>();
        var ratio = topValues.data<double>().ToArray().Select(v => total > 0 ? v / total : 0).ToArray();
        return (top.contiguous(), ratio);
    }

    static Tensor Project(Tensor x, Tensor components) => (x - x.mean([0], keepdim: true)).matmul(components.t());   // [M, 3]

    /// <summary>Per-column min-max to [0, 1]; a constant column maps to 0.</summary>
    static Tensor Scale01(Tensor v)
    {
        var min = v.amin([0], keepdim: true);
        var range = v.amax([0], keepdim: true) - min;
        return (v - min) / torch.where(range > 0, range, torch.ones_like(range));
    }
}
