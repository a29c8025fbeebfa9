using System.CommandLine;

namespace Mesh.Cli.Commands;

internal static class CtlCommand
{
    public static Command Create()
    {
        var command = new Command("ctl", "Read and change the registry: nodes, services, endpoints, routes.");
        NotAvailable.Attach(command);
        return command;
    }
}
