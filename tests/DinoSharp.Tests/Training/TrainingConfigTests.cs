using DinoSharp.Layers;
using DinoSharp.Losses;
using DinoSharp.Tests.Fixtures;
using DinoSharp.Training;

namespace DinoSharp.Tests.Training;

/// <summary>The config's enum-valued keys, the shipped configs read from their text, and old run folders' config.json.</summary>
public sealed class TrainingConfigTests
{
    [Theory]
    [InlineData("train.centering=sinkhorn_knop", "train.centering = 'sinkhorn_knop': must be one of centering, sinkhorn_knopp. Did you mean 'sinkhorn_knopp'?")]
    [InlineData("optim.scaling_rule=sqrt_wrt1024", "optim.scaling_rule = 'sqrt_wrt1024': must be one of sqrt_wrt_1024, linear_wrt_256, none. Did you mean 'sqrt_wrt_1024'?")]
    [InlineData("optim.scaling_rule=quadratic", "optim.scaling_rule = 'quadratic': must be one of sqrt_wrt_1024, linear_wrt_256, none.")]
    [InlineData("student.ffn_layer=swiglu2", "student.ffn_layer = 'swiglu2': must be one of mlp, swiglu. Did you mean 'swiglu'?")]
    [InlineData("student.ffn_layer=3", "student.ffn_layer = 3: must be one of mlp, swiglu.")]
    public void AnUnknownNameIsOneLineListingTheNames(string setting, string message)
    {
        var e = Assert.Throws<ConfigException>(() => TrainingConfigLoader.Resolve(null, [setting]));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void NamesReadAsTheirEnumsAndWriteBackTheSame()
    {
        var c = TrainingConfigLoader.Resolve(null, ["train.centering=sinkhorn_knopp", "optim.scaling_rule=linear_wrt_256", "student.ffn_layer=swiglufused"]);
        Assert.Equal(TeacherCentering.SinkhornKnopp, c.Train.Centering);
        Assert.Equal(LrScalingRule.LinearWrt256, c.Optim.ScalingRule);
        Assert.Equal(FeedForwardKind.SwiGLU, c.Student.FfnLayer);
        string json = TrainingConfigLoader.ToJson(c);
        Assert.Contains("\"centering\": \"sinkhorn_knopp\"", json);
        Assert.Contains("\"scaling_rule\": \"linear_wrt_256\"", json);
        Assert.Contains("\"ffn_layer\": \"swiglu\"", json);
        Assert.Equal(json, TrainingConfigLoader.ToJson(TrainingConfigLoader.ResolveText(json, "config.json")));
        Assert.Contains("\"ffn_layer\": null", TrainingConfigLoader.ToJson(new DinoTrainingConfig()));
    }

    /// <summary>
    /// A run folder's config.json written before these keys were enums (by `dino train … --set train.centering=sinkhorn_knopp
    /// --set optim.scaling_rule=linear_wrt_256 --set student.ffn_layer=swiglu`) resolves to a config whose JSON is the
    /// same text, byte for byte: resume compares the SHA-256 of that text, so the old run still resumes.
    /// </summary>
    [Fact]
    public void AnOldRunFoldersConfigStillResolvesToTheSameText()
    {
        string file = Path.Combine(ReferenceFixtures.RepositoryRoot(), "tests", "DinoSharp.Tests", "Training", "run-config-before-enums.json");
        string old = File.ReadAllText(file);
        var config = TrainingConfigLoader.Resolve(file);
        Assert.Equal(TeacherCentering.SinkhornKnopp, config.Train.Centering);
        Assert.Equal(old, TrainingConfigLoader.ToJson(config));
    }

    [Fact]
    public void EveryShippedConfigIsReadFromItsTextAndValidates()
    {
        Assert.Equal(["fashion_mnist_cpu", "fashion_mnist_dinov3_cpu", "photos_cpu", "vitb14_imagenet", "vits14_imagenet"], DefaultConfigs.Names);
        foreach (string name in DefaultConfigs.Names)
        {
            var config = DefaultConfigs.Load(name);
            TrainingConfigValidator.Validate(config);
            Assert.Equal(TrainingConfigLoader.ToJson(config), TrainingConfigLoader.ToJson(DefaultConfigs.Load(name, [])));
        }
        Assert.Equal("vit_femto_p14", DefaultConfigs.FashionMnistCpu.Student.Arch);
        Assert.Equal(0.006, DefaultConfigs.Load("fashion_mnist_cpu", ["optim.base_lr=0.006"]).Optim.BaseLr);
        var bad = Assert.Throws<ConfigException>(() => DefaultConfigs.Load("photos_cpu", ["train.bach_size=3"]));
        Assert.Equal("unknown config key 'train.bach_size'. Did you mean 'train.batch_size'?", bad.Message);
        var broken = Assert.Throws<ConfigException>(() => TrainingConfigLoader.ResolveText("{ \"optim\": { \"base_lr\": 0.1, } ", "configs/x.json"));
        Assert.StartsWith("configs/x.json: not valid JSON", broken.Message);
    }
}
