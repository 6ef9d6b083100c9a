using System.ComponentModel;
using DinoSharp.Visualize;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

internal sealed class ReportCommand : Command<ReportCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandArgument(0, "<RUN>")]
        [Description("The run folder made by `dino train` (evaluation JSON files are read from its eval/ folder).")]
        public string Run { get; init; } = "";

        [CommandOption("--out <FILE>")]
        [Description("HTML file to write (default <RUN>/report.html).")]
        public string? Out { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(s.Run)) throw new UserErrorException($"{s.Run}: no such run folder.");
        OutputPath.CheckFile("--out", s.Out);
        string path = RunReport.Write(s.Run, s.Out);
        Console.WriteLine($"Report: {Path.GetFullPath(path)}");
        return CliRunner.Ok;
    }
}
