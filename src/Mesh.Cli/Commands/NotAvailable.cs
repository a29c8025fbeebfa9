using System.CommandLine;

namespace Mesh.Cli.Commands;

/// <summary>
/// What a command that is not built yet does: says so on stderr and exits non-zero, so scripts
/// never mistake it for success.
/// </summary>
internal static class NotAvailable
{
    public const int ExitCode = 3;

    public static void Attach(Command command) =>
        command.SetAction(parseResult =>
        {
            parseResult.InvocationConfiguration.Error.WriteLine(
                $"mesh {command.Name}: not available yet in this version of Mesh.");
            return ExitCode;
        });
}
