using DinoSharp.Tests.Data;
using static DinoSharp.Tests.Cli.CliParsingTests;

namespace DinoSharp.Tests.Cli;

/// <summary>User errors are exit 1 and one line in the user's words, with no .NET wording.</summary>
public sealed class CliUserErrorTests : IDisposable
{
    readonly TestImages files = new();

    public void Dispose() => files.Dispose();

    [Fact]
    public void Cuda_on_a_cpu_build_says_what_a_cuda_build_needs()
    {
        if (TorchSharp.torch.cuda.is_available()) return;   // a CUDA machine: the message under test cannot occur
        AssertOneLineUserError(CliCommandTests.Dino("embed", "--device", "cuda", "--model", "raw", "--data", "x", "--out", "y"),
            "--device cuda: this build of dino has no CUDA");
        AssertOneLineUserError(CliCommandTests.Dino("train", "--device", "cuda:1", "--steps", "1"), "TorchSharp-cuda");
        AssertOneLineUserError(CliCommandTests.Dino("knn", "--device", "gpu"), "--device gpu: use cpu, cuda or cuda:N");
    }

    [Fact]
    public void A_bad_dataset_string_is_one_line_without_parameter_names()
    {
        var result = CliCommandTests.Dino("knn", "--model", "raw", "--train", "nosuch:thing", "--test", "fashion-mnist:test");
        AssertOneLineUserError(result, "nosuch:thing");
        Assert.DoesNotContain("(Parameter", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Appending_another_model_is_a_user_error_and_appending_the_same_images_adds_only_new_ones()
    {
        for (int i = 0; i < 3; i++) files.Write($"a/img{i}.png", TestImages.Png(TestImages.Pattern(20, 20, seed: i)));
        for (int i = 3; i < 5; i++) files.Write($"b/img{i}.png", TestImages.Png(TestImages.Pattern(20, 20, seed: i)));
        string store = Path.Combine(files.Folder, "stores", "s");
        var (code, error) = CliCommandTests.Dino("embed", "--model", "raw:8", "--data", files.PathOf("a"), "--out", store, "--quiet");
        Assert.True(code == 0, error);
        AssertOneLineUserError(CliCommandTests.Dino("embed", "--model", "raw:12", "--data", files.PathOf("b"), "--out", store, "--append", "--quiet"),
            "refusing to add embeddings");
        AssertOneLineUserError(CliCommandTests.Dino("embed", "--model", "raw:8", "--data", files.PathOf("a"), "--out", store, "--append", "--quiet"),
            "already holds all 3 images");
        (code, error) = CliCommandTests.Dino("embed", "--model", "raw:8", "--data", files.PathOf("b"), "--out", store, "--append", "--quiet");
        Assert.True(code == 0, error);
        using var s = DinoSharp.Eval.EmbeddingStore.Open(store);
        Assert.Equal(5, s.Count);
    }
}
