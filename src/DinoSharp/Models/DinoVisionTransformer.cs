using DinoSharp.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>
/// The DINOv2 Vision Transformer (dinov2/models/vision_transformer.py), computing the same function and holding the same
/// state-dict keys in the same order: cls_token, pos_embed, [register_tokens], mask_token, patch_embed.proj.*,
/// blocks.{i}.*, norm.*.
/// </summary>
public sealed class DinoVisionTransformer : nn.Module<Tensor, Tensor>
{
    readonly Parameter cls_token;
    readonly Parameter pos_embed;
    readonly Parameter? register_tokens;
    readonly Parameter mask_token;
    readonly PatchEmbed patch_embed;
    readonly ModuleList<Block> blocks;
    readonly LayerNorm norm;

    /// <summary>
    /// Builds the network for <paramref name="config"/> with dinov2's initialisation, drawn from <paramref name="generator"/>
    /// when given (reproducible whatever else uses libtorch's global generator meanwhile), else from the global generator
    /// (call <c>torch.manual_seed</c> first for reproducible weights).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="config"/> fails <see cref="VisionTransformerConfig.Validate"/>.</exception>
    public DinoVisionTransformer(VisionTransformerConfig config, torch.Generator? generator = null) : base(nameof(DinoVisionTransformer))
    {
        Config = config.Validate();
        long d = config.EmbedDim;
        int grid = config.PositionGrid;
        cls_token = new Parameter(torch.zeros(1, 1, d));
        pos_embed = new Parameter(torch.zeros(1, grid * grid + 1, d));
        register_tokens = config.NumRegisterTokens > 0 ? new Parameter(torch.zeros(1, config.NumRegisterTokens, d)) : null;
        mask_token = new Parameter(torch.zeros(1, d));
        patch_embed = new PatchEmbed(config.PatchSize, config.InChans, d);
        blocks = nn.ModuleList(Enumerable.Range(0, config.Depth).Select(_ => new Block(
            d, config.NumHeads, config.MlpHidden, config.FfnLayer, config.QkvBias, config.ProjBias, config.FfnBias,
            config.InitValues, config.DropPathRate, config.LayerNormEps)).ToArray());
        norm = nn.LayerNorm(d, config.LayerNormEps);

        // Registered by hand, in dinov2's order (register_tokens only when present).
        register_parameter(nameof(cls_token), cls_token);
        register_parameter(nameof(pos_embed), pos_embed);
        if (register_tokens is not null) register_parameter(nameof(register_tokens), register_tokens);
        register_parameter(nameof(mask_token), mask_token);
        register_module(nameof(patch_embed), patch_embed);
        register_module(nameof(blocks), blocks);
        register_module(nameof(norm), norm);
        InitWeights(generator);
    }

    /// <summary>The validated architecture the network was built from.</summary>
    public VisionTransformerConfig Config { get; }

    /// <summary>Token width D.</summary>
    public int EmbedDim => Config.EmbedDim;
    /// <summary>Patch side p in pixels; input sides must be multiples of it.</summary>
    public int PatchSize => Config.PatchSize;
    /// <summary>Register tokens R between the cls token and the patch tokens (0 or 4 for Meta's models).</summary>
    public int NumRegisterTokens => Config.NumRegisterTokens;
    /// <summary>Number of transformer blocks.</summary>
    public int Depth => Config.Depth;

    /// <summary>
    /// dinov2's init: trunc-normal(0.02) position embedding and Linear weights, tiny cls/register tokens, zero mask token;
    /// the patch convolution keeps PyTorch's default, U(±1/√fan_in) for weight and bias, redrawn here from
    /// <paramref name="generator"/> when one is given so that no weight comes from the global generator.
    /// </summary>
    void InitWeights(torch.Generator? generator)
    {
        using var _ = torch.no_grad();
        // TorchSharp 0.107's init.trunc_normal_ fills a constant (see TruncatedNormal), so ours is used.
        TruncatedNormal.Fill(pos_embed, std: 0.02, generator: generator);
        cls_token.normal_(0, 1e-6, generator);
        register_tokens?.normal_(0, 1e-6, generator);
        foreach (var (_, module) in named_modules())
        {
            if (module is Linear linear)
            {
                TruncatedNormal.Fill(linear.weight!, std: 0.02, generator: generator);
                if (linear.bias is not null) nn.init.zeros_(linear.bias);
            }
            else if (module is Conv2d conv && generator is not null)
            {
                var w = conv.weight!;
                double bound = 1.0 / Math.Sqrt(w.shape[1] * w.shape[2] * w.shape[3]);
                w.uniform_(-bound, bound, generator);
                conv.bias?.uniform_(-bound, bound, generator);
            }
        }
    }

    /// <summary>Normalised cls token [B, D] (dinov2's forward in eval mode).</summary>
    public override Tensor forward(Tensor x)
    {
        using var output = ForwardFeatures(x);
        return output.ClsToken.alias();
    }

    /// <summary>dinov2's forward_features: masked patches (true = replace by mask_token) are optional.</summary>
    public BackboneOutput ForwardFeatures(Tensor x, Tensor? masks = null)
    {
        using var scope = torch.NewDisposeScope();
        var tokens = PrepareTokens(x, masks);
        foreach (var block in blocks)
            tokens = block.forward(tokens);
        var output = SplitNormalized(tokens, masks);
        return new BackboneOutput(
            output.ClsToken.MoveToOuterDisposeScope(),
            output.RegisterTokens.MoveToOuterDisposeScope(),
            output.PatchTokens.MoveToOuterDisposeScope(),
            output.PreNorm.MoveToOuterDisposeScope(),
            masks);
    }

    /// <summary>
    /// dinov2's get_intermediate_layers: the outputs of the last <paramref name="n"/> blocks, in block order, optionally
    /// passed through the final norm; patch tokens [B, h·w, D] (registers dropped) and cls token [B, D].
    /// </summary>
    public IReadOnlyList<IntermediateLayer> GetIntermediateLayers(Tensor x, int n = 1, bool applyNorm = true)
    {
        if (n < 1 || n > Depth)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"Number of layers must be in [1, {Depth}].");
        return GetIntermediateLayers(x, Enumerable.Range(Depth - n, n).ToArray(), applyNorm);
    }

    /// <summary>get_intermediate_layers with explicit 0-based block indices.</summary>
    public IReadOnlyList<IntermediateLayer> GetIntermediateLayers(Tensor x, IReadOnlyList<int> blockIndices, bool applyNorm = true)
    {
        foreach (var i in blockIndices)
            if (i < 0 || i >= Depth)
                throw new ArgumentOutOfRangeException(nameof(blockIndices), i, $"Block index must be in [0, {Depth - 1}].");
        using var scope = torch.NewDisposeScope();
        var wanted = new HashSet<int>(blockIndices);
        var collected = new Dictionary<int, Tensor>();
        var tokens = PrepareTokens(x, null);
        for (int i = 0; i < Depth; i++)
        {
            tokens = blocks[i].forward(tokens);
            if (wanted.Contains(i)) collected[i] = tokens;
            if (collected.Count == wanted.Count) break;
        }
        int r = NumRegisterTokens;
        return blockIndices.Select(i =>
        {
            var t = applyNorm ? norm.forward(collected[i]) : collected[i];
            return new IntermediateLayer(
                t[.., (1 + r)..].MoveToOuterDisposeScope(),
                t[.., 0].MoveToOuterDisposeScope());
        }).ToList();
    }

    /// <summary>The last block's softmax attention [B, heads, N, N] (token order cls, registers, patches), for attention maps.</summary>
    public Tensor LastBlockAttention(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var tokens = PrepareTokens(x, null);
        for (int i = 0; i < Depth - 1; i++)
            tokens = blocks[i].forward(tokens);
        var (_, weights) = blocks[Depth - 1].ForwardWithAttention(tokens);
        return weights.MoveToOuterDisposeScope();
    }

    /// <summary>dinov2's prepare_tokens_with_masks: [cls + pos₀, registers (no position), patches + pos].</summary>
    public Tensor PrepareTokens(Tensor x, Tensor? masks)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], h = x.shape[2], w = x.shape[3];
        var patches = patch_embed.forward(x);                                           // [B, N, D]
        if (masks is not null)
        {
            if (masks.dim() != 2 || masks.shape[0] != b || masks.shape[1] != patches.shape[1])
                throw new ArgumentException($"Patch mask must be [B={b}, N={patches.shape[1]}], got [{string.Join(", ", masks.shape)}].");
            patches = torch.where(masks.to(ScalarType.Bool).unsqueeze(-1), mask_token.to(patches.dtype).unsqueeze(0), patches);
        }
        var tokens = torch.cat([cls_token.expand(b, -1, -1), patches], 1);
        tokens = tokens + InterpolatePositionEmbedding(h, w);
        if (register_tokens is not null)
            tokens = torch.cat([tokens[.., ..1], register_tokens.expand(b, -1, -1), tokens[.., 1..]], 1);
        return tokens.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The position embedding for an h×w image [1, 1 + (h/p)(w/p), D]: the learned grid as is when it already matches a
    /// square input, otherwise resized bicubically exactly as dinov2's interpolate_pos_encoding (see <see cref="BicubicResize"/>).
    /// </summary>
    public Tensor InterpolatePositionEmbedding(long height, long width)
    {
        int p = PatchSize, m = Config.PositionGrid;
        int h0 = (int)(height / p), w0 = (int)(width / p);
        if (h0 * w0 == m * m && height == width)
            return pos_embed.alias();
        using var scope = torch.NewDisposeScope();
        var (rows, cols) = ResizeMatrices(h0, w0);
        long d = pos_embed.shape[2];
        var grid = pos_embed[.., 1..].reshape(m, m, d).permute(2, 0, 1);                  // [D, M, M]
        var resized = BicubicResize.Apply(grid, rows, cols);                               // [D, h0, w0]
        var patchPos = resized.permute(1, 2, 0).reshape(1, h0 * w0, d);
        return torch.cat([pos_embed[.., ..1], patchPos], 1).MoveToOuterDisposeScope();
    }

    readonly Dictionary<(int, int), (double[,], double[,])> resizeCache = new();

    (double[,] Rows, double[,] Cols) ResizeMatrices(int h0, int w0)
    {
        lock (resizeCache)
        {
            if (resizeCache.TryGetValue((h0, w0), out var cached)) return cached;
            int m = Config.PositionGrid;
            double offset = Config.InterpolateOffset;
            bool aa = Config.InterpolateAntialias;
            (double[,], double[,]) result;
            if (offset != 0)
            {
                // scale_factor = (target + offset)/M; the kernel uses 1/scale_factor, output size floor(M·scale_factor).
                double sh = (h0 + offset) / m, sw = (w0 + offset) / m;
                int oh = (int)Math.Floor(m * sh), ow = (int)Math.Floor(m * sw);
                if (oh != h0 || ow != w0)
                    throw new InvalidOperationException($"Position-embedding resize gave a {oh}×{ow} grid for a {h0}×{w0} patch grid.");
                result = (BicubicResize.Matrix(m, h0, 1 / sh, aa), BicubicResize.Matrix(m, w0, 1 / sw, aa));
            }
            else
            {
                result = (BicubicResize.Matrix(m, h0, (double)m / h0, aa), BicubicResize.Matrix(m, w0, (double)m / w0, aa));
            }
            resizeCache[(h0, w0)] = result;
            return result;
        }
    }

    BackboneOutput SplitNormalized(Tensor tokens, Tensor? masks)
    {
        var normed = norm.forward(tokens);
        int r = NumRegisterTokens;
        return new BackboneOutput(normed[.., 0], normed[.., 1..(1 + r)], normed[.., (1 + r)..], tokens, masks);
    }
}
