namespace DinoSharp.Layers;

/// <summary>
/// The number format of the matrix products (linear layers, attention, convolutions), written <c>auto</c>, <c>fp32</c>
/// or <c>bf16</c> (config key <c>precision</c>, option <c>--precision</c>). Weights, optimiser state, normalisation
/// statistics, the losses' softmaxes and checkpoints are float32 in every precision.
/// </summary>
public enum Precision
{
    /// <summary>bf16 where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), fp32 elsewhere (<see cref="ComputePrecision.Resolve"/>).</summary>
    Auto,
    /// <summary>float32 throughout.</summary>
    Fp32,
    /// <summary>bfloat16 inputs and weights for the matrix products (float32 accumulation), float32 elsewhere.</summary>
    Bf16,
}
