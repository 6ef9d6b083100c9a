using DinoSharp.Layers;

namespace DinoSharp.Tests.Models;

/// <summary>
/// What a command says about its precision, on a CPU with native bfloat16 dot products and on one without (both cases
/// whatever this machine is): auto names its choice and the reason, bf16 asked for on a CPU that only emulates it is a
/// warning that says what to use instead, fp32 is one plain sentence, and a resumed run says the precision is the run's
/// (with what emulated bf16 costs, and why the run keeps it).
/// </summary>
public sealed class PrecisionChoiceTests
{
    [Theory]
    [InlineData(Precision.Auto, true, false, "Precision: bf16 (auto: this CPU has native bfloat16 dot products).")]
    [InlineData(Precision.Auto, false, false, "Precision: fp32 (auto: this CPU has no native bfloat16 dot products).")]
    [InlineData(Precision.Bf16, true, false, "Precision: bf16.")]
    [InlineData(Precision.Fp32, true, false, "Precision: fp32.")]
    [InlineData(Precision.Fp32, false, false, "Precision: fp32.")]
    [InlineData(Precision.Bf16, true, true, "Precision: bf16 (the run's).")]
    [InlineData(Precision.Fp32, true, true, "Precision: fp32 (the run's).")]
    [InlineData(Precision.Fp32, false, true, "Precision: fp32 (the run's).")]
    [InlineData(Precision.Bf16, false, true, "Precision: bf16 (the run's), which this CPU only emulates: its steps run slower than fp32's would; the run keeps it so that its resume stays exact.")]
    public void EachChoiceIsSaid(Precision precision, bool nativeBf16, bool resumed, string expected) =>
        Assert.Equal(expected, ComputePrecision.DescribeFor(precision, nativeBf16, resumed));

    [Fact]
    public void Bf16WithoutNativeSupportIsAWarningWithTheWayOut()
    {
        string said = ComputePrecision.DescribeFor(Precision.Bf16, nativeBf16: false, resumed: false);
        Assert.StartsWith("Precision: bf16, but this CPU has no native bfloat16 dot products", said, StringComparison.Ordinal);
        Assert.Contains("slower than fp32", said, StringComparison.Ordinal);
        Assert.Contains("--precision auto or fp32", said, StringComparison.Ordinal);
        Assert.Equal(!ComputePrecision.CpuHasNativeBf16, ComputePrecision.IsEmulated(Precision.Bf16));
        Assert.False(ComputePrecision.IsEmulated(Precision.Fp32));
        Assert.False(ComputePrecision.IsEmulated(Precision.Auto));
    }
}
