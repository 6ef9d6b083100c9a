using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Layers;

/// <summary>
/// ConvNeXt block (Liu et al., 2022), as dinov3/models/convnext.py's <c>Block</c>: x + drop_path(γ ⊙ pwconv2(GELU(pwconv1(
/// LN(dwconv₇ₓ₇(x)))))), with the LayerNorm and the two pointwise Linears applied channels-last. Keys: <c>gamma</c> [C]
/// (absent without layer scale), <c>dwconv.*</c>, <c>norm.*</c>, <c>pwconv1.*</c> [4C, C], <c>pwconv2.*</c> [C, 4C].
/// </summary>
public sealed class ConvNeXtBlock : nn.Module<Tensor, Tensor>
{
    readonly Parameter? gamma;
    readonly Conv2d dwconv;
    readonly LayerNorm norm;
    readonly Linear pwconv1;
    readonly Linear pwconv2;
    readonly nn.Module<Tensor, Tensor> drop_path;

    /// <summary>A block of <paramref name="dim"/> channels.</summary>
    /// <param name="dim">Channels C.</param>
    /// <param name="dropPath">Stochastic-depth probability of this block during training.</param>
    /// <param name="layerScaleInitValue">Initial γ; 0 or less: no layer scale (no <c>gamma</c> key).</param>
    public ConvNeXtBlock(long dim, double dropPath = 0.0, double layerScaleInitValue = 1e-6) : base(nameof(ConvNeXtBlock))
    {
        // The reference registers gamma as a parameter of the block itself, so its key comes before the submodules'.
        if (layerScaleInitValue > 0)
        {
            gamma = new Parameter(torch.full(dim, layerScaleInitValue));
            register_parameter(nameof(gamma), gamma);
        }
        dwconv = nn.Conv2d(dim, dim, kernel_size: 7, padding: 3, groups: dim);
        norm = nn.LayerNorm(dim, 1e-6);
        pwconv1 = nn.Linear(dim, 4 * dim);
        pwconv2 = nn.Linear(4 * dim, dim);
        drop_path = dropPath > 0 ? new DropPath(dropPath) : nn.Identity();
        register_module(nameof(dwconv), dwconv);
        register_module(nameof(norm), norm);
        register_module(nameof(pwconv1), pwconv1);
        register_module(nameof(pwconv2), pwconv2);
        register_module(nameof(drop_path), drop_path);
        LayerScaleInitValue = layerScaleInitValue;
    }

    /// <summary>The γ this block was built with (what the reference's init_weights resets it to).</summary>
    public double LayerScaleInitValue { get; }

    /// <summary>γ [C], or null without layer scale.</summary>
    public Parameter? Gamma => gamma;

    /// <summary>x [B, C, H, W] → [B, C, H, W].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = dwconv.forward(x).permute(0, 2, 3, 1);                                   // [B, H, W, C]
        // The pointwise Linears in the current ComputePrecision; the residual sum promotes a bf16 branch back to float32.
        y = ComputePrecision.Linear(pwconv2, nn.functional.gelu(ComputePrecision.Linear(pwconv1, norm.forward(y))));
        if (gamma is not null) y = gamma * y;
        y = y.permute(0, 3, 1, 2);                                                        // [B, C, H, W]
        return (x + drop_path.forward(y)).MoveToOuterDisposeScope();
    }
}
