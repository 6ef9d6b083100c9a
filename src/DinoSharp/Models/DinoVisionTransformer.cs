using DinoSharp.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Models;

/// <summary>
/// The DINOv2 and DINOv3 Vision Transformers (dinov2/models/vision_transformer.py, dinov3/models/vision_transformer.py),
/// computing the same functions and holding the same state-dict keys in the same order. The family
/// (<see cref="VisionTransformerConfig.Family"/>) decides the position encoding, the one place the two differ in the
/// computation: DINOv2 adds a learned, bicubically resized <c>pos_embed</c> to the tokens; DINOv3 adds nothing and
/// hands RoPE sin/cos tables (<c>rope_embed</c>) to every block, which rotate q and k of the patch tokens.
/// <list type="bullet">
/// <item>DINOv2 keys: cls_token, pos_embed, [register_tokens], mask_token, patch_embed.proj.*, blocks.{i}.*, norm.*;</item>
/// <item>DINOv3 keys: cls_token, [storage_tokens], mask_token, patch_embed.proj.*, rope_embed.periods, blocks.{i}.*
/// (with qkv.bias_mask when the key bias is masked), norm.*, [cls_norm.*], [local_cls_norm.*].</item>
/// </list>
/// </summary>
public sealed class DinoVisionTransformer : nn.Module<Tensor, Tensor>, IDinoBackbone
{
    readonly Parameter cls_token;
    readonly Parameter? pos_embed;
    readonly Parameter? register_tokens;
    readonly Parameter? storage_tokens;
    readonly Parameter mask_token;
    readonly PatchEmbed patch_embed;
    readonly RopePositionEmbedding? rope_embed;
    readonly ModuleList<Block> blocks;
    readonly nn.Module<Tensor, Tensor> norm;
    readonly nn.Module<Tensor, Tensor>? cls_norm;
    readonly nn.Module<Tensor, Tensor>? local_cls_norm;

    /// <summary>
    /// Builds the network for <paramref name="config"/> with the family's reference initialisation, drawn from
    /// <paramref name="generator"/> when given (reproducible whatever else uses libtorch's global generator meanwhile),
    /// else from the global generator (call <c>torch.manual_seed</c> first for reproducible weights).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="config"/> fails <see cref="VisionTransformerConfig.Validate"/>.</exception>
    public DinoVisionTransformer(VisionTransformerConfig config, torch.Generator? generator = null) : base(nameof(DinoVisionTransformer))
    {
        Config = config.Validate();
        bool v3 = config.Family == BackboneFamily.Dinov3Vit;
        long d = config.EmbedDim;
        int grid = config.PositionGrid;
        cls_token = new Parameter(torch.zeros(1, 1, d));
        Parameter? extra = config.NumRegisterTokens > 0 ? new Parameter(torch.zeros(1, config.NumRegisterTokens, d)) : null;
        if (v3) storage_tokens = extra;
        else register_tokens = extra;
        if (!v3) pos_embed = new Parameter(torch.zeros(1, grid * grid + 1, d));
        mask_token = new Parameter(torch.zeros(1, d));
        patch_embed = new PatchEmbed(config.PatchSize, config.InChans, d);
        if (v3) rope_embed = new RopePositionEmbedding(config.HeadDim, config.Rope!);
        // Stochastic depth on a batch subset: always in dinov3's block; in dinov2's above a rate of 0.1 (per-sample
        // Bernoulli masks below it), where skipping the dropped samples' compute pays for the gather.
        blocks = nn.ModuleList(Enumerable.Range(0, config.Depth).Select(_ => new Block(
            d, config.NumHeads, config.MlpHidden, config.FfnLayer, config.QkvBias, config.ProjBias, config.FfnBias,
            config.InitValues, config.DropPathRate, config.LayerNormEps, config.NormLayer, config.MaskKBias,
            fusedSwiGLU: !v3, config.SwigluAlignTo, subsetDropPath: v3 || config.DropPathRate > 0.1)).ToArray());
        norm = Block.CreateNorm(config.NormLayer, d, config.LayerNormEps);
        if (config.UntieClsAndPatchNorms) cls_norm = Block.CreateNorm(config.NormLayer, d, config.LayerNormEps);
        if (config.UntieGlobalAndLocalClsNorm) local_cls_norm = Block.CreateNorm(config.NormLayer, d, config.LayerNormEps);

        // Registered by hand, in the references' state-dict order (parameters, then modules; optional ones only when present).
        register_parameter(nameof(cls_token), cls_token);
        if (pos_embed is not null) register_parameter(nameof(pos_embed), pos_embed);
        if (register_tokens is not null) register_parameter(nameof(register_tokens), register_tokens);
        if (storage_tokens is not null) register_parameter(nameof(storage_tokens), storage_tokens);
        register_parameter(nameof(mask_token), mask_token);
        register_module(nameof(patch_embed), patch_embed);
        if (rope_embed is not null) register_module(nameof(rope_embed), rope_embed);
        register_module(nameof(blocks), blocks);
        register_module(nameof(norm), norm);
        if (cls_norm is not null) register_module(nameof(cls_norm), cls_norm);
        if (local_cls_norm is not null) register_module(nameof(local_cls_norm), local_cls_norm);
        InitWeights(generator);
    }

    /// <summary>The validated architecture the network was built from.</summary>
    public VisionTransformerConfig Config { get; }

    /// <summary>Token width D.</summary>
    public int EmbedDim => Config.EmbedDim;
    /// <summary>Patch side p in pixels; input sides must be multiples of it.</summary>
    public int PatchSize => Config.PatchSize;
    /// <summary>Register tokens R between the cls token and the patch tokens (DINOv2: 0 or 4; DINOv3's storage tokens: 4 in the released models).</summary>
    public int NumRegisterTokens => Config.NumRegisterTokens;
    /// <summary>Number of transformer blocks.</summary>
    public int Depth => Config.Depth;

    /// <summary>
    /// The state dict in the reference's key order (<see cref="StateDictLayout"/>): TorchSharp lists all parameters before
    /// all buffers, PyTorch each module's parameters, then its buffers, then its children, which puts
    /// <c>rope_embed.periods</c> and every <c>qkv.bias_mask</c> between parameters.
    /// </summary>
    public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null)
    {
        var all = base.state_dict(null, prefix);
        destination ??= new Dictionary<string, Tensor>();
        foreach (var entry in StateDictLayout.Of(Config))
        {
            string key = string.IsNullOrEmpty(prefix) ? entry.Key : $"{prefix}.{entry.Key}";
            if (all.TryGetValue(key, out var t)) destination.TryAdd(key, t);
        }
        foreach (var (key, t) in all) destination.TryAdd(key, t);
        return destination;
    }

    /// <summary>
    /// The generator DINOv3's training-time RoPE coordinate augmentations (shift, jitter, rescale) draw from; null: libtorch's
    /// global generator. A training run sets it to its own seeded generator. Unused in eval mode and by DINOv2.
    /// </summary>
    public torch.Generator? RopeGenerator { get; set; }

    /// <summary>
    /// The references' init. DINOv2: trunc-normal(0.02) position embedding and Linear weights, tiny cls/register tokens, zero
    /// mask token. DINOv3: normal(0.02) cls and storage tokens, zero mask token, trunc-normal(0.02) Linear weights, a
    /// (1, 0, 1) key-bias mask, periods from the RoPE settings. Both: the patch convolution keeps PyTorch's default,
    /// U(±1/√fan_in) for weight and bias, redrawn here from <paramref name="generator"/> when one is given so that no
    /// weight comes from the global generator.
    /// </summary>
    void InitWeights(torch.Generator? generator)
    {
        using var _ = torch.no_grad();
        // TorchSharp 0.107's init.trunc_normal_ fills a constant (see TruncatedNormal), so ours is used.
        if (pos_embed is not null) TruncatedNormal.Fill(pos_embed, std: 0.02, generator: generator);
        double tokenStd = Config.Family == BackboneFamily.Dinov3Vit ? 0.02 : 1e-6;
        cls_token.normal_(0, tokenStd, generator);
        register_tokens?.normal_(0, tokenStd, generator);
        storage_tokens?.normal_(0, tokenStd, generator);
        foreach (var (_, module) in named_modules())
        {
            if (module is Linear linear)
            {
                TruncatedNormal.Fill(linear.weight!, std: 0.02, generator: generator);
                if (linear.bias is not null) nn.init.zeros_(linear.bias);
            }
            else if (module is LinearKMaskedBias masked)
            {
                TruncatedNormal.Fill(masked.Weight, std: 0.02, generator: generator);
                nn.init.zeros_(masked.Bias);
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

    /// <summary>
    /// forward_features: masked patches (true = replace by mask_token) are optional. <paramref name="localCrops"/> marks a
    /// batch of local crops, whose cls and storage tokens go through <c>local_cls_norm</c> in training when the model has one
    /// (DINOv3's untie_global_and_local_cls_norm); otherwise it changes nothing.
    /// </summary>
    public BackboneOutput ForwardFeatures(Tensor x, Tensor? masks = null, bool localCrops = false)
    {
        using var scope = torch.NewDisposeScope();
        var tokens = PrepareTokens(x, masks);
        var (h, w) = PatchGrid(x);
        RopeTables? rope = null;
        foreach (var block in blocks)
            tokens = block.Forward(tokens, rope = BlockRope(h, w, rope));
        var output = SplitNormalized(tokens, masks, localCrops);
        return new BackboneOutput(
            output.ClsToken.MoveToOuterDisposeScope(),
            output.RegisterTokens.MoveToOuterDisposeScope(),
            output.PatchTokens.MoveToOuterDisposeScope(),
            output.PreNorm.MoveToOuterDisposeScope(),
            masks);
    }

    /// <summary>forward_features of global crops (<see cref="ForwardFeatures(Tensor, Tensor?, bool)"/> with localCrops false).</summary>
    BackboneOutput IDinoBackbone.ForwardFeatures(Tensor x, Tensor? masks) => ForwardFeatures(x, masks);

    /// <summary>
    /// get_intermediate_layers: the outputs of the last <paramref name="n"/> blocks, in block order, optionally passed through
    /// the final norm(s); patch tokens [B, h·w, D], cls token [B, D] and register/storage tokens [B, R, D].
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
        var (h, w) = PatchGrid(x);
        RopeTables? rope = null;
        for (int i = 0; i < Depth; i++)
        {
            tokens = blocks[i].Forward(tokens, rope = BlockRope(h, w, rope));
            if (wanted.Contains(i)) collected[i] = tokens;
            if (collected.Count == wanted.Count) break;
        }
        int r = NumRegisterTokens;
        return blockIndices.Select(i =>
        {
            var t = applyNorm ? Normalize(collected[i], localCrops: false) : collected[i];
            return new IntermediateLayer(
                t[.., (1 + r)..].MoveToOuterDisposeScope(),
                t[.., 0].MoveToOuterDisposeScope(),
                t[.., 1..(1 + r)].MoveToOuterDisposeScope());
        }).ToList();
    }

    /// <summary>The last block's softmax attention [B, heads, N, N] (token order cls, registers, patches), for attention maps.</summary>
    public Tensor LastBlockAttention(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var tokens = PrepareTokens(x, null);
        var (h, w) = PatchGrid(x);
        RopeTables? rope = null;
        for (int i = 0; i < Depth - 1; i++)
            tokens = blocks[i].Forward(tokens, rope = BlockRope(h, w, rope));
        var (_, weights) = blocks[Depth - 1].ForwardWithAttention(tokens, BlockRope(h, w, rope));
        return weights.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The tokens before block 0 and after every block [B, 1 + R + h·w, D], in eval or training mode as the model is:
    /// for checking a port block by block against the reference's intermediate values.
    /// </summary>
    public IReadOnlyList<Tensor> BlockOutputs(Tensor x, Tensor? masks = null)
    {
        using var scope = torch.NewDisposeScope();
        var tokens = PrepareTokens(x, masks);
        var (h, w) = PatchGrid(x);
        var result = new List<Tensor> { tokens };
        RopeTables? rope = null;
        foreach (var block in blocks)
            result.Add(tokens = block.Forward(tokens, rope = BlockRope(h, w, rope)));
        foreach (var t in result) t.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// DINOv3's rope_embed(H, W): sin and cos [H·W, D_head] for an <paramref name="height"/>×<paramref name="width"/> patch grid
    /// (in training mode with fresh coordinate augmentations from <see cref="RopeGenerator"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is a DINOv2 one (learned position embedding, no RoPE).</exception>
    public RopeTables RopeEmbedding(long height, long width) =>
        rope_embed?.Forward(height, width, RopeGenerator)
        ?? throw new InvalidOperationException("A DINOv2 backbone has a learned position embedding, not RoPE.");

    /// <summary>
    /// prepare_tokens_with_masks: [cls, registers/storage, patches]. DINOv2 adds the position embedding (to cls and
    /// patches, not registers); DINOv3 adds nothing (its positions enter through RoPE in the blocks).
    /// </summary>
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
        if (pos_embed is not null)
            tokens = tokens + InterpolatePositionEmbedding(h, w);
        var extra = register_tokens ?? storage_tokens;
        if (extra is not null)
            tokens = torch.cat([tokens[.., ..1], extra.expand(b, -1, -1), tokens[.., 1..]], 1);
        return tokens.MoveToOuterDisposeScope();
    }

    static (long H, long W) PatchGrid(Tensor x) => (x.shape[2], x.shape[3]);

    /// <summary>
    /// The RoPE tables a block gets (null for DINOv2). The reference calls rope_embed before every block: in eval the
    /// tables are the same each time, so the previous block's are reused; in training every block draws its own augmentation.
    /// </summary>
    RopeTables? BlockRope(long imageHeight, long imageWidth, RopeTables? previous)
    {
        if (rope_embed is null) return null;
        if (previous is not null && !training) return previous;
        return rope_embed.Forward(imageHeight / PatchSize, imageWidth / PatchSize, RopeGenerator);
    }

    /// <summary>
    /// The position embedding for an h×w image [1, 1 + (h/p)(w/p), D]: the learned grid as is when it already matches a
    /// square input, otherwise resized bicubically exactly as dinov2's interpolate_pos_encoding (see <see cref="BicubicResize"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is a DINOv3 one (no learned position embedding).</exception>
    public Tensor InterpolatePositionEmbedding(long height, long width)
    {
        if (pos_embed is null)
            throw new InvalidOperationException("A DINOv3 backbone has no learned position embedding (its positions are RoPE's).");
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

    BackboneOutput SplitNormalized(Tensor tokens, Tensor? masks, bool localCrops)
    {
        var normed = Normalize(tokens, localCrops);
        int r = NumRegisterTokens;
        return new BackboneOutput(normed[.., 0], normed[.., 1..(1 + r)], normed[.., (1 + r)..], tokens, masks);
    }

    /// <summary>
    /// The final norm: <c>norm</c> over all tokens, or with untied norms <c>cls_norm</c> (or, for local crops in training,
    /// <c>local_cls_norm</c>) over cls and storage tokens and <c>norm</c> over the patches.
    /// </summary>
    Tensor Normalize(Tensor tokens, bool localCrops)
    {
        var prefixNorm = localCrops && training && local_cls_norm is not null ? local_cls_norm : cls_norm;
        if (prefixNorm is null) return norm.forward(tokens);
        int r = NumRegisterTokens;
        return torch.cat([prefixNorm.forward(tokens[.., ..(1 + r)]), norm.forward(tokens[.., (1 + r)..])], 1);
    }
}
