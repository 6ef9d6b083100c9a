namespace DinoSharp.Models;

/// <summary>
/// Everything that defines a DINOv3 ConvNeXt (dinov3/models/convnext.py); names and defaults follow its constructor
/// (ConvNeXt-T: depths 3-3-9-3, dims 96-192-384-768).
/// </summary>
public sealed record ConvNeXtConfig
{
    /// <summary>Input channels C (3 for RGB).</summary>
    public int InChans { get; init; } = 3;
    /// <summary>Blocks in each of the four stages.</summary>
    public IReadOnlyList<int> Depths { get; init; } = [3, 3, 9, 3];
    /// <summary>Channels of each of the four stages; the last one is the embedding width D.</summary>
    public IReadOnlyList<int> Dims { get; init; } = [96, 192, 384, 768];
    /// <summary>Largest stochastic-depth probability; block k of K gets rate·k/(K−1), as the reference's linspace (0: off).</summary>
    public double DropPathRate { get; init; }
    /// <summary>Initial value of each block's <c>gamma</c> layer scale; 0 or less means no <c>gamma</c> (1e-6).</summary>
    public double LayerScaleInitValue { get; init; } = 1e-6;
    /// <summary>
    /// The ViT patch size whose grid (H/p × W/p) the intermediate feature maps are resized to, bilinearly with antialias;
    /// null: not resized (the hub's default). Training and evaluation configs of dinov3 pass 16.
    /// </summary>
    public int? PatchSize { get; init; }

    /// <summary>Number of stages (the reference's n_blocks): always 4.</summary>
    public const int Stages = 4;

    /// <summary>Total stride of the network: the stem's 4 and three downsamplings by 2.</summary>
    public const int Stride = 32;

    /// <summary>Embedding width D, the channels of the last stage.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int EmbedDim => Dims[^1];

    /// <summary>
    /// The reference module's state-dict keys in order with their shapes, computed from the config without building the
    /// network: the final LayerNorm appears twice, as <c>norm.*</c> and <c>norms.3.*</c>.
    /// </summary>
    public IReadOnlyList<(string Key, long[] Shape)> StateDictShapes()
    {
        Validate();
        var keys = new List<(string, long[])>();
        void Add(string key, params long[] shape) => keys.Add((key, shape));
        Add("downsample_layers.0.0.weight", Dims[0], InChans, 4, 4);
        Add("downsample_layers.0.0.bias", Dims[0]);
        Add("downsample_layers.0.1.weight", Dims[0]);
        Add("downsample_layers.0.1.bias", Dims[0]);
        for (int i = 1; i < Stages; i++)
        {
            Add($"downsample_layers.{i}.0.weight", Dims[i - 1]);
            Add($"downsample_layers.{i}.0.bias", Dims[i - 1]);
            Add($"downsample_layers.{i}.1.weight", Dims[i], Dims[i - 1], 2, 2);
            Add($"downsample_layers.{i}.1.bias", Dims[i]);
        }
        for (int i = 0; i < Stages; i++)
            for (int j = 0; j < Depths[i]; j++)
            {
                long c = Dims[i];
                string b = $"stages.{i}.{j}.";
                if (LayerScaleInitValue > 0) Add(b + "gamma", c);
                Add(b + "dwconv.weight", c, 1, 7, 7);
                Add(b + "dwconv.bias", c);
                Add(b + "norm.weight", c);
                Add(b + "norm.bias", c);
                Add(b + "pwconv1.weight", 4 * c, c);
                Add(b + "pwconv1.bias", 4 * c);
                Add(b + "pwconv2.weight", c, 4 * c);
                Add(b + "pwconv2.bias", c);
            }
        foreach (var norm in new[] { "norm", $"norms.{Stages - 1}" })
        {
            Add(norm + ".weight", EmbedDim);
            Add(norm + ".bias", EmbedDim);
        }
        return keys;
    }

    /// <summary>Number of distinct parameters (the shared final LayerNorm counted once), from <see cref="StateDictShapes"/>.</summary>
    public long ParameterCount() =>
        StateDictShapes().Where(e => !e.Key.StartsWith("norms.", StringComparison.Ordinal))
            .Sum(e => e.Shape.Aggregate(1L, (a, d) => a * d));

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public ConvNeXtConfig Validate()
    {
        static void Require(bool ok, string field, object value, string allowed)
        {
            if (!ok) throw new ArgumentException($"Invalid ConvNeXt config: {field} = {value}; {allowed}.");
        }
        Require(InChans > 0, nameof(InChans), InChans, "must be positive");
        Require(Depths is { Count: Stages } && Depths.All(d => d > 0), nameof(Depths), Show(Depths), $"needs {Stages} positive block counts");
        Require(Dims is { Count: Stages } && Dims.All(d => d > 0), nameof(Dims), Show(Dims), $"needs {Stages} positive channel counts");
        Require(DropPathRate is >= 0 and < 1, nameof(DropPathRate), DropPathRate, "must be in [0, 1)");
        Require(!double.IsNaN(LayerScaleInitValue), nameof(LayerScaleInitValue), LayerScaleInitValue, "must be a number");
        Require(PatchSize is null or > 0, nameof(PatchSize), PatchSize ?? 0, "must be positive or null");
        return this;
    }

    /// <summary>Records compare lists by reference; this compares the architectures.</summary>
    public bool Equals(ConvNeXtConfig? other) =>
        other is not null && InChans == other.InChans && Depths.SequenceEqual(other.Depths) && Dims.SequenceEqual(other.Dims)
        && DropPathRate == other.DropPathRate && LayerScaleInitValue == other.LayerScaleInitValue && PatchSize == other.PatchSize;

    /// <inheritdoc/>
    public override int GetHashCode() =>
        HashCode.Combine(InChans, string.Join(",", Depths), string.Join(",", Dims), DropPathRate, LayerScaleInitValue, PatchSize);

    static string Show(IReadOnlyList<int>? values) => values is null ? "null" : "[" + string.Join(", ", values) + "]";
}
