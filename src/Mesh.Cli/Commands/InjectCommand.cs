using System.CommandLine;

namespace Mesh.Cli.Commands;

internal static class InjectCommand
{
    public static Command Create()
    {
        var command = new Command("inject", "Add the sidecar to Kubernetes Deployments in a manifest.");
        NotAvailable.Attach(command);
        return command;
    }
}
