using System.CommandLine;

namespace Mesh.Cli.Commands;

internal static class SidecarCommand
{
    public static Command Create()
    {
        var command = new Command("sidecar", "Run the sidecar proxy next to a service.");
        NotAvailable.Attach(command);
        return command;
    }
}
