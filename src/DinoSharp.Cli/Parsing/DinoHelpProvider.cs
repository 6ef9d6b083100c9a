using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace DinoSharp.Cli.Parsing;

/// <summary>Spectre's help, with the usage of `dino embed merge` spelt as users type it (it is registered as embed-merge).</summary>
internal sealed class DinoHelpProvider(ICommandAppSettings settings) : HelpProvider(settings)
{
    /// <summary>The hidden verb name that `dino embed merge` is rewritten to.</summary>
    public const string EmbedMergeVerb = "embed-merge";

    public override IEnumerable<IRenderable> GetUsage(ICommandModel model, ICommandInfo? command)
    {
        if (command?.Name != EmbedMergeVerb) return base.GetUsage(model, command);
        return [new Markup("[yellow]USAGE:[/]" + Environment.NewLine + "    dino embed merge [grey][[OPTIONS]][/]" + Environment.NewLine)];
    }

}
