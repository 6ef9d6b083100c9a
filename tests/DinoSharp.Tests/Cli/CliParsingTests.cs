using DinoSharp.Cli;
using DinoSharp.Cli.Parsing;
using DinoSharp.Tests.Data;

namespace DinoSharp.Tests.Cli;

/// <summary>Strict parsing: misspelt verbs and options, missing values and values of the wrong type are one-line errors.</summary>
public sealed class CliParsingTests
{
    internal static void AssertOneLineUserError((int Code, string Error) result, string expected)
    {
        Assert.Equal(CliRunner.UserError, result.Code);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("dino: ", lines[0]);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Nullable", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_option_is_refused_before_any_work_with_the_option_it_resembles()
    {
        using var files = new TestImages();
        string run = Path.Combine(files.Folder, "run");
        AssertOneLineUserError(CliCommandTests.Dino("train", "--stesp", "20", "--out", run), "unknown option --stesp for train; did you mean --steps?");
        Assert.False(Directory.Exists(run));
        AssertOneLineUserError(CliCommandTests.Dino("knn", "--model", "raw", "--train", "x", "--test", "y", "--limit", "100"), "unknown option --limit for knn");
        AssertOneLineUserError(CliCommandTests.Dino("knn", "--model", "raw", "--limit-tset", "100"), "did you mean --limit-test?");
        AssertOneLineUserError(CliCommandTests.Dino("embed", "--bogus-option", "7"), "unknown option --bogus-option for embed");
        AssertOneLineUserError(CliCommandTests.Dino("embed", "merge", "--outt", "x"), "did you mean --out?");
        AssertOneLineUserError(CliCommandTests.Dino("export", "onnx", "--opst", "18"), "did you mean --opset?");
    }

    [Fact]
    public void A_misspelt_verb_names_the_verb_it_resembles()
    {
        AssertOneLineUserError(CliCommandTests.Dino("trian", "--steps", "20"), "unknown command 'trian'; did you mean 'train'?");
        AssertOneLineUserError(CliCommandTests.Dino("serach"), "did you mean 'search'?");
        AssertOneLineUserError(CliCommandTests.Dino("export", "onx"), "did you mean 'onnx'?");
        AssertOneLineUserError(CliCommandTests.Dino("frobnicate"), "unknown command 'frobnicate' (dino help lists them)");
    }

    [Fact]
    public void Values_of_the_wrong_type_are_named_in_words()
    {
        AssertOneLineUserError(CliCommandTests.Dino("train", "--steps", "abc"), "--steps abc: expected a whole number");
        AssertOneLineUserError(CliCommandTests.Dino("train", "--minutes", "ten"), "--minutes ten: expected a number");
        AssertOneLineUserError(CliCommandTests.Dino("cluster", "--store", "s", "--k", "x"), "--k x: expected a whole number");
        AssertOneLineUserError(CliCommandTests.Dino("train", "--minutes"), "--minutes needs a value");
        AssertOneLineUserError(CliCommandTests.Dino("report", "a", "b"), "unexpected argument 'b'");
        // Negative numbers are values, not options: the command itself refuses them.
        AssertOneLineUserError(CliCommandTests.Dino("search", "--store", "s", "--query", "q", "--top", "-2"), "--top -2");
    }

    [Fact]
    public void Help_and_version_work()
    {
        Assert.Equal(0, CliCommandTests.Dino("help").Code);
        Assert.Equal(0, CliCommandTests.Dino("help", "train").Code);
        Assert.Equal(0, CliCommandTests.Dino("--version").Code);
        Assert.Equal(0, CliCommandTests.Dino("embed", "merge", "--help").Code);
        Assert.Matches(@"^\d+\.\d+\.\d+", DinoApp.Version);
    }

    [Theory]
    [InlineData("stesp", "steps", 1), InlineData("trian", "train", 1), InlineData("abc", "abc", 0), InlineData("kitten", "sitting", 3)]
    public void Edit_distance_counts_swaps_once(string a, string b, int expected) => Assert.Equal(expected, Suggest.Distance(a, b));

    [Fact]
    public void Suggestions_stay_quiet_when_nothing_is_close()
    {
        Assert.Equal("--steps", Suggest.Closest("--stesp", ["--steps", "--minutes", "--set"]));
        Assert.Null(Suggest.Closest("--colour", ["--steps", "--minutes", "--set"]));
    }
}
