using DinoSharp.Data;
using DinoSharp.Distributed;
using DinoSharp.Eval;
using DinoSharp.Interop;
using DinoSharp.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace DinoSharp.Cli;

/// <summary>Exit codes and error reporting: 0 ok, 1 user error (one line, no stack trace), 2 internal error.</summary>
internal static class CliRunner
{
    public const int Ok = 0, UserError = 1, InternalError = 2;

    public static int Run(Func<int> body, string[] args, TextWriter? errors = null)
    {
        errors ??= Console.Error;
        bool verbose = args.Contains("--verbose");
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            errors.WriteLine("dino: " + OneLine(UserMessage(e)));
            if (verbose) errors.WriteLine(e);
            return UserError;
        }
        catch (Exception e)
        {
            errors.WriteLine("dino: internal error: " + OneLine(e.Message) + (verbose ? "" : " (run with --verbose for details)"));
            if (verbose) errors.WriteLine(e);
            return InternalError;
        }
    }

    static bool IsUserError(Exception e) => e is ConfigException or CheckpointException or DatasetNotFoundException
        or ImageDecodeException or ArgumentException or FileNotFoundException or DirectoryNotFoundException
        or InvalidDataException or TrainingDivergedException or EmbeddingStoreMismatchException or CommandAppException or UserErrorException or DistributedSetupException;

    /// <summary>The message without .NET's " (Parameter 'spec')" suffix, which names a C# parameter, not anything the user typed.</summary>
    static string UserMessage(Exception e) =>
        e is ArgumentException { ParamName: { } p } a ? a.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal) : e.Message;

    static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}

/// <summary>A mistake in what the user asked for; printed as one line, exit code 1.</summary>
internal sealed class UserErrorException(string message) : Exception(message);

/// <summary>Options every command has.</summary>
internal class CommonSettings : CommandSettings
{
    [CommandOption("--verbose")]
    [System.ComponentModel.Description("Print stack traces with errors.")]
    public bool Verbose { get; init; }

    [CommandOption("--quiet")]
    [System.ComponentModel.Description("Print only errors and the final result.")]
    public bool Quiet { get; init; }

    [CommandOption("--device <DEVICE>")]
    [System.ComponentModel.Description("cpu (default) or cuda[[:n]].")]
    public string Device { get; init; } = "cpu";

    [CommandOption("--threads <N>")]
    [System.ComponentModel.Description("libtorch threads (default: all cores).")]
    public int Threads { get; init; }

    /// <summary>Checks the options every command shares (the --device value) after binding, before the command runs.</summary>
    public override ValidationResult Validate()
    {
        DeviceOption.Check(Device);
        if (Threads < 0) throw new UserErrorException($"--threads {Threads}: must be at least 1 (or leave it out for all cores).");
        return base.Validate();
    }

    public void ApplyThreads()
    {
        if (Threads > 0) TorchSharp.torch.set_num_threads(Threads);
    }

    /// <summary>
    /// Interactive terminal with live widgets, or plain lines (CI logs, pipes, and the ranks of mpirun, whose output
    /// Open MPI passes through a pseudo-terminal).
    /// </summary>
    public static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected && Communicator.LaunchedRank() is null;
}
