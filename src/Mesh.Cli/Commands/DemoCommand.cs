using System.CommandLine;

namespace Mesh.Cli.Commands;

internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Run a local mesh: a 3-node registry, sample services with sidecars, and live traffic.");
        NotAvailable.Attach(command);
        return command;
    }
}
