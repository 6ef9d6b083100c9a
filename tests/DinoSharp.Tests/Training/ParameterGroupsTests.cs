using DinoSharp.Training;
using TorchSharp;
using TorchSharp.Modules;

namespace DinoSharp.Tests.Training;

public sealed class ParameterGroupsTests
{
    const int Depth = 12;

    /// <summary>The student's names for a 12-block ViT with registers (tiny shapes: only the names and ranks matter).</summary>
    static List<(string Name, Parameter P)> StudentParameters()
    {
        var list = new List<(string, Parameter)>();
        void Add(string name, params long[] shape) => list.Add((name, new Parameter(torch.zeros(shape))));
        Add("backbone.cls_token", 1, 1, 4);
        Add("backbone.pos_embed", 1, 17, 4);
        Add("backbone.register_tokens", 1, 4, 4);
        Add("backbone.mask_token", 1, 4);
        Add("backbone.patch_embed.proj.weight", 4, 3, 2, 2);
        Add("backbone.patch_embed.proj.bias", 4);
        for (int i = 0; i < Depth; i++)
        {
            string b = $"backbone.blocks.{i}.";
            Add(b + "norm1.weight", 4); Add(b + "norm1.bias", 4);
            Add(b + "attn.qkv.weight", 12, 4); Add(b + "attn.qkv.bias", 12);
            Add(b + "attn.proj.weight", 4, 4); Add(b + "attn.proj.bias", 4);
            Add(b + "ls1.gamma", 4);
            Add(b + "norm2.weight", 4); Add(b + "norm2.bias", 4);
            Add(b + "mlp.fc1.weight", 16, 4); Add(b + "mlp.fc1.bias", 16);
            Add(b + "mlp.fc2.weight", 4, 16); Add(b + "mlp.fc2.bias", 4);
            Add(b + "ls2.gamma", 4);
        }
        Add("backbone.norm.weight", 4);
        Add("backbone.norm.bias", 4);
        Add("dino_head.mlp.0.weight", 8, 4);
        Add("dino_head.mlp.0.bias", 8);
        Add("dino_head.last_layer.weight_v", 10, 8);
        list.Add(("dino_head.last_layer.weight_g", new Parameter(torch.ones(10, 1), requires_grad: false)));
        return list;
    }

    static readonly IReadOnlyList<ParameterGroup> Groups = ParameterGroups.Build(StudentParameters(), Depth);

    static ParameterGroup GroupOf(string name) => Groups.Single(g => g.Names.Contains(name));

    [Theory]
    [InlineData("backbone.cls_token", 13, 1.0, false)]
    [InlineData("backbone.pos_embed", 13, 1.0, false)]
    [InlineData("backbone.register_tokens", 13, 1.0, false)]
    [InlineData("backbone.mask_token", 13, 1.0, false)]
    [InlineData("backbone.patch_embed.proj.weight", 13, 0.2, true)]
    [InlineData("backbone.patch_embed.proj.bias", 13, 0.2, false)]
    [InlineData("backbone.blocks.0.attn.qkv.weight", 12, 1.0, true)]
    [InlineData("backbone.blocks.0.attn.qkv.bias", 12, 1.0, false)]
    [InlineData("backbone.blocks.5.ls1.gamma", 7, 1.0, false)]
    [InlineData("backbone.blocks.5.norm2.weight", 7, 1.0, false)]
    [InlineData("backbone.blocks.11.mlp.fc2.weight", 1, 1.0, true)]
    [InlineData("backbone.norm.weight", 0, 1.0, false)]
    [InlineData("dino_head.mlp.0.weight", 0, 1.0, true)]
    [InlineData("dino_head.mlp.0.bias", 0, 1.0, false)]
    [InlineData("dino_head.last_layer.weight_v", 0, 1.0, true)]
    public void EachParameterGetsItsLayerDecayAndWeightDecay(string name, int decayPower, double extra, bool decays)
    {
        var group = GroupOf(name);
        Assert.Equal(Math.Pow(0.9, decayPower) * extra, group.LrMultiplier, 12);
        Assert.Equal(decays ? 1.0 : 0.0, group.WdMultiplier);
        Assert.Equal(name.Contains("last_layer", StringComparison.Ordinal), group.IsLastLayer);
    }

    [Fact]
    public void GroupsAreFusedByPolicyAndFrozenParametersSkipped()
    {
        // tokens | patch w | patch b | 12 blocks × (decayed, not decayed) | norm + head bias | head weight | last layer
        Assert.Equal(1 + 2 + 2 * Depth + 1 + 1 + 1, Groups.Count);
        Assert.DoesNotContain(Groups, g => g.Names.Contains("dino_head.last_layer.weight_g"));
        Assert.Equal(StudentParameters().Count - 1, Groups.Sum(g => g.Parameters.Count));
        Assert.Equal(["backbone.norm.weight", "backbone.norm.bias", "dino_head.mlp.0.bias"], GroupOf("backbone.norm.weight").Names);
        var last = Groups.Single(g => g.IsLastLayer);
        Assert.Equal(["dino_head.last_layer.weight_v"], last.Names);
        var block3 = GroupOf("backbone.blocks.3.attn.qkv.weight");
        Assert.Equal(["backbone.blocks.3.attn.qkv.weight", "backbone.blocks.3.attn.proj.weight", "backbone.blocks.3.mlp.fc1.weight", "backbone.blocks.3.mlp.fc2.weight"], block3.Names);
    }

    [Fact]
    public void ScheduledValuesApplyPerGroup()
    {
        var last = Groups.Single(g => g.IsLastLayer);
        Assert.Equal(0.0, last.LearningRate(lr: 0.002, lastLayerLr: 0.0));
        var patch = GroupOf("backbone.patch_embed.proj.weight");
        Assert.Equal(0.002 * 0.2 * Math.Pow(0.9, 13), patch.LearningRate(0.002, 0.0), 15);
        Assert.Equal(0.04, patch.WeightDecay(0.04));
        Assert.Equal(0.0, GroupOf("backbone.cls_token").WeightDecay(0.04));
    }

    [Fact]
    public void ChunkedBlockNamesUseTheGlobalIndex()
    {
        Assert.Equal(4, ParameterGroups.LayerId("backbone.blocks.1.3.attn.qkv.weight", Depth));
        Assert.Equal(4, ParameterGroups.LayerId("backbone.blocks.3.attn.qkv.weight", Depth));
        Assert.Equal(Depth + 1, ParameterGroups.LayerId("ibot_head.mlp.0.weight", Depth));
        Assert.Throws<ArgumentException>(() => ParameterGroups.LayerId("backbone.blocks.12.attn.qkv.weight", Depth));
    }
}
