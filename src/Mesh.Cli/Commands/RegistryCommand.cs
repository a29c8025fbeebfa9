using System.CommandLine;

namespace Mesh.Cli.Commands;

internal static class RegistryCommand
{
    public static Command Create()
    {
        var command = new Command("registry", "Run one node of the replicated registry cluster.");
        NotAvailable.Attach(command);
        return command;
    }
}
