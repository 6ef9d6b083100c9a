using System.Text.Json;
using DinoSharp.Models;
using DinoSharp.Tests.Fixtures;

namespace DinoSharp.Tests.Models;

/// <summary>The named DINOv3 ConvNeXts against variants.json (the reference modules built with the hub's settings).</summary>
public sealed class ConvNeXtVariantTests
{
    static JsonElement Variants() =>
        JsonDocument.Parse(File.ReadAllText(ReferenceFixtures.V3.PathOf("variants.json"))).RootElement.GetProperty("variants");

    public static TheoryData<string> Names() => [.. ConvNeXtVariants.Names];

    /// <summary>Keys in order with shapes and the parameter count, from the config's shapes (no weights allocated).</summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void KeysShapesAndParameterCountMatchTheHub(string name)
    {
        Assert.True(Variants().TryGetProperty(name, out var reference), $"variants.json has no {name}");
        var expected = reference.GetProperty("state_dict").EnumerateArray()
            .Select(e => (e[0].GetString()!, string.Join(",", e[1].EnumerateArray().Select(d => d.GetInt64())))).ToList();
        var config = ConvNeXtVariants.Get(name);
        var actual = config.StateDictShapes().Select(e => (e.Key, string.Join(",", e.Shape))).ToList();
        Assert.Equal(expected, actual);
        Assert.Equal(reference.GetProperty("parameters").GetInt64(), config.ParameterCount());
    }

    /// <summary>The shape list is what the network registers: checked on the smallest released variant (28 M parameters) and without layer scale.</summary>
    [Fact]
    public void ShapesFromTheConfigAreTheNetworksOwn()
    {
        foreach (var config in new[] { ConvNeXtVariants.Get("dinov3_convnext_tiny"), new ConvNeXtConfig { Depths = [1, 2, 1, 1], Dims = [8, 16, 24, 32], LayerScaleInitValue = 0, InChans = 1 } })
        {
            using var convnext = new ConvNeXt(config);
            var actual = convnext.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))).ToList();
            Assert.Equal(config.StateDictShapes().Select(e => (e.Key, string.Join(",", e.Shape))).ToList(), actual);
            Assert.Equal(config.ParameterCount(), convnext.parameters().DistinctBy(p => p.Handle).Sum(p => p.numel()));
        }
    }

    [Fact]
    public void UnknownNamesAndBadConfigsAreOneLineErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => ConvNeXtVariants.Get("dinov3_convnext_huge"));
        Assert.Contains("dinov3_convnext_tiny", e.Message);
        var bad = Assert.Throws<ArgumentException>(() => new ConvNeXtConfig { Depths = [3, 3, 9] }.Validate());
        Assert.Contains("Depths", bad.Message);
        Assert.Throws<ArgumentException>(() => new ConvNeXtConfig { PatchSize = 0 }.Validate());
    }
}
