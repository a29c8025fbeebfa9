using System.CommandLine;
using Mesh.Cli.Commands.Ctl;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh ctl</c>: the registry from the command line, on the client library.</summary>
internal static class CtlCommand
{
    public static Command Create()
    {
        var registry = new Option<string>("--registry", "-r")
        {
            Description = "Registry address(es), comma-separated (default: $MESH_REGISTRY or http://127.0.0.1:7001).",
            Recursive = true,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MESH_REGISTRY") ?? "http://127.0.0.1:7001",
        };
        var command = new Command("ctl", "Read and change the registry: nodes, services, endpoints, routes.");
        command.Options.Add(registry);
        foreach (var verb in CtlVerbs.Create(registry))
            command.Subcommands.Add(verb);
        return command;
    }
}
