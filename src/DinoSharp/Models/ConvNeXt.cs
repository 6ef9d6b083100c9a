using DinoSharp.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>
/// DINOv3's distilled ConvNeXt (dinov3/models/convnext.py), computing the same function and holding the same state-dict
/// keys in the same order: <c>downsample_layers.{0..3}.*</c> (the stem: 4×4 stride-4 conv then channels-first LayerNorm;
/// then channels-first LayerNorm and 2×2 stride-2 conv), <c>stages.{i}.{j}.*</c> (<see cref="ConvNeXtBlock"/>), the final
/// <c>norm.*</c> and again as <c>norms.3.*</c> (the same LayerNorm: intermediate stages 0–2 use the identity).
/// </summary>
/// <remarks>
/// Seen as a DINO backbone (<see cref="IDinoBackbone"/>): the cls token is the global average pool of the last stage and
/// the patch tokens are its positions, both through the final LayerNorm; there are no register tokens and no mask token
/// (a mask is passed through, not applied), and <see cref="BackboneOutput.PreNorm"/> holds the positions only, [B, h·w, D],
/// as the reference's x_prenorm.
/// </remarks>
public sealed class ConvNeXt : nn.Module<Tensor, Tensor>, IDinoBackbone
{
    readonly ModuleList<Sequential> downsample_layers;
    readonly ModuleList<Sequential> stages;
    readonly LayerNorm norm;
    readonly ModuleList<nn.Module<Tensor, Tensor>> norms;

    /// <summary>
    /// Builds the network for <paramref name="config"/> with the reference's init_weights (trunc-normal(0.02) conv and
    /// Linear weights, zero biases, unit norms, γ at its init value), drawn from <paramref name="generator"/> when given,
    /// else from libtorch's global generator.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="config"/> fails <see cref="ConvNeXtConfig.Validate"/>.</exception>
    public ConvNeXt(ConvNeXtConfig config, torch.Generator? generator = null) : base(nameof(ConvNeXt))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        var dims = config.Dims;
        var layers = new List<Sequential>
        {
            nn.Sequential(
                ("0", (nn.Module<Tensor, Tensor>)nn.Conv2d(config.InChans, dims[0], kernel_size: 4, stride: 4)),
                ("1", new ChannelsFirstLayerNorm(dims[0]))),
        };
        for (int i = 0; i < ConvNeXtConfig.Stages - 1; i++)
            layers.Add(nn.Sequential(
                ("0", (nn.Module<Tensor, Tensor>)new ChannelsFirstLayerNorm(dims[i])),
                ("1", nn.Conv2d(dims[i], dims[i + 1], kernel_size: 2, stride: 2))));
        downsample_layers = nn.ModuleList(layers.ToArray());

        var rates = DropPathRates(config.DropPathRate, config.Depths.Sum());
        int block = 0;
        stages = nn.ModuleList(config.Depths.Select((depth, i) => nn.Sequential(Enumerable.Range(0, depth).Select(j =>
            (j.ToString(System.Globalization.CultureInfo.InvariantCulture),
             (nn.Module<Tensor, Tensor>)new ConvNeXtBlock(dims[i], rates[block++], config.LayerScaleInitValue)))
            .ToArray())).ToArray());

        norm = nn.LayerNorm(dims[^1], 1e-6);
        norms = nn.ModuleList<nn.Module<Tensor, Tensor>>(nn.Identity(), nn.Identity(), nn.Identity(), norm);
        register_module(nameof(downsample_layers), downsample_layers);
        register_module(nameof(stages), stages);
        register_module(nameof(norm), norm);
        register_module(nameof(norms), norms);
        InitWeights(generator);
    }

    /// <summary>The validated architecture the network was built from.</summary>
    public ConvNeXtConfig Config { get; }

    /// <summary>Width D of the last stage, the width of the cls and patch tokens.</summary>
    public int EmbedDim => Config.EmbedDim;

    /// <summary>The network's total stride, 32: <see cref="ForwardFeatures"/> gives one patch token per 32×32 pixels.</summary>
    public int PatchSize => ConvNeXtConfig.Stride;

    /// <summary>The four stages' widths (the reference's embed_dims): the widths of <see cref="GetIntermediateLayers(Tensor, int, bool)"/> outputs.</summary>
    public IReadOnlyList<int> EmbedDims => Config.Dims;

    /// <summary>The normalised pooled token [B, D] (the reference's forward in eval mode, with its identity head).</summary>
    public override Tensor forward(Tensor x)
    {
        using var output = ForwardFeatures(x);
        return output.ClsToken.alias();
    }

    /// <summary>
    /// forward_features: the four stages, then the final LayerNorm over [average pool, positions]. cls [B, D], no register
    /// tokens [B, 0, D], patch tokens [B, h·w, D] on the last stage's grid (h = H/32 rounded down through each stride),
    /// pre-norm positions [B, h·w, D]; <paramref name="masks"/> is returned as given.
    /// </summary>
    public BackboneOutput ForwardFeatures(Tensor x, Tensor? masks = null)
    {
        CheckInput(x);
        using var scope = torch.NewDisposeScope();
        for (int i = 0; i < ConvNeXtConfig.Stages; i++)
            x = stages[i].forward(downsample_layers[i].forward(x));
        var pooled = x.mean([-2, -1]);                                                  // [B, D]
        var positions = x.flatten(2).transpose(1, 2);                                  // [B, h·w, D]
        var normalised = norm.forward(torch.cat([pooled.unsqueeze(1), positions], 1));  // [B, 1 + h·w, D]
        return new BackboneOutput(
            normalised[.., 0].MoveToOuterDisposeScope(),
            normalised[.., 1..1].MoveToOuterDisposeScope(),
            normalised[.., 1..].MoveToOuterDisposeScope(),
            positions.MoveToOuterDisposeScope(),
            masks);
    }

    /// <summary>
    /// get_intermediate_layers of the last <paramref name="n"/> stages (1 ≤ n ≤ 4), in order: the stage's average pool
    /// [B, Dᵢ] and its positions [B, h·w, Dᵢ], the map first resized to (H/p) × (W/p) for <see cref="ConvNeXtConfig.PatchSize"/>
    /// p (bilinear, antialias) when set. With <paramref name="applyNorm"/> the last stage goes through the final LayerNorm and
    /// the others through the identity, as the reference's norms.
    /// </summary>
    public IReadOnlyList<IntermediateLayer> GetIntermediateLayers(Tensor x, int n = 1, bool applyNorm = true)
    {
        if (n < 1 || n > ConvNeXtConfig.Stages)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"Number of stages must be in [1, {ConvNeXtConfig.Stages}].");
        return GetIntermediateLayers(x, Enumerable.Range(ConvNeXtConfig.Stages - n, n).ToArray(), applyNorm);
    }

    /// <summary>get_intermediate_layers with explicit 0-based stage indices, in the order given.</summary>
    public IReadOnlyList<IntermediateLayer> GetIntermediateLayers(Tensor x, IReadOnlyList<int> stageIndices, bool applyNorm = true)
    {
        ArgumentNullException.ThrowIfNull(stageIndices);
        foreach (var i in stageIndices)
            if (i < 0 || i >= ConvNeXtConfig.Stages)
                throw new ArgumentOutOfRangeException(nameof(stageIndices), i, $"Stage index must be in [0, {ConvNeXtConfig.Stages - 1}].");
        CheckInput(x);
        using var scope = torch.NewDisposeScope();
        long height = x.shape[2], width = x.shape[3];
        var collected = new Dictionary<int, IntermediateLayer>();
        int last = stageIndices.Count == 0 ? -1 : stageIndices.Max();
        for (int i = 0; i <= last; i++)
        {
            x = stages[i].forward(downsample_layers[i].forward(x));
            if (!stageIndices.Contains(i)) continue;
            var pooled = x.mean([-2, -1]);                                              // [B, Dᵢ]
            var map = Config.PatchSize is int p
                ? nn.functional.interpolate(x, [height / p, width / p], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true)
                : x;
            var patches = map.flatten(2).transpose(1, 2);                              // [B, h·w, Dᵢ]
            var stageNorm = applyNorm ? norms[i] : null;
            collected[i] = new IntermediateLayer(
                (stageNorm?.forward(patches) ?? patches).MoveToOuterDisposeScope(),
                (stageNorm?.forward(pooled) ?? pooled).MoveToOuterDisposeScope());
        }
        return stageIndices.Select(i => collected[i]).ToList();
    }

    /// <summary>The reference's np.linspace(0, rate, count): block k gets rate·k/(count − 1).</summary>
    static double[] DropPathRates(double rate, int count) =>
        Enumerable.Range(0, count).Select(k => count == 1 ? 0.0 : rate * k / (count - 1)).ToArray();

    void CheckInput(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 4 || x.shape[1] != Config.InChans)
            throw new ArgumentException($"ConvNeXt expects images [B, {Config.InChans}, H, W], got [{string.Join(", ", x.shape)}].", nameof(x));
        if (x.shape[2] < ConvNeXtConfig.Stride || x.shape[3] < ConvNeXtConfig.Stride)
            throw new ArgumentException($"ConvNeXt needs images of at least {ConvNeXtConfig.Stride}×{ConvNeXtConfig.Stride} pixels (its total stride), got {x.shape[2]}×{x.shape[3]}.", nameof(x));
    }

    void InitWeights(torch.Generator? generator)
    {
        using var _ = torch.no_grad();
        // TorchSharp 0.107's init.trunc_normal_ fills a constant (see TruncatedNormal), so ours is used.
        foreach (var (_, module) in named_modules())
        {
            var (weight, bias) = module switch
            {
                Conv2d conv => (conv.weight, conv.bias),
                Linear linear => (linear.weight, linear.bias),
                _ => (null, null),
            };
            if (weight is null) continue;
            TruncatedNormal.Fill(weight, std: 0.02, generator: generator);
            bias?.zero_();
        }
    }
}
