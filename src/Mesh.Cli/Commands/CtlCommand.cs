using System.CommandLine;
using Mesh.Cli.Commands.Ctl;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh ctl</c>: the registry from the command line, on the client library.</summary>
internal static class CtlCommand
{
    private const string TokenOption = "--token";
    private const string CaFileOption = "--ca-file";

    /// <summary>The client settings of a <c>mesh ctl</c> verb: addresses, token and CA file.</summary>
    public static Mesh.Registry.Client.RegistryClientOptions ClientOptions(ParseResult result, Option<string> registry)
    {
        var options = Mesh.Registry.Client.RegistryClientOptions.Parse(result.GetValue(registry)!);
        var caFile = result.GetValue<string?>(CaFileOption);
        return options with
        {
            // A person waiting at a prompt: a registry that is not running says so at once.
            FailFastWhenRefused = true,
            Token = result.GetValue<string?>(TokenOption) is { Length: > 0 } token ? token : null,
            TrustedRoots = caFile is { Length: > 0 } ? Mesh.Registry.Contracts.TlsTrust.ReadPemFile(caFile) : [],
        };
    }

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
        command.Options.Add(new Option<string?>(TokenOption)
        {
            Description = "Bearer token for a registry that requires one (default: $MESH_REGISTRY_TOKEN).",
            Recursive = true,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MESH_REGISTRY_TOKEN"),
        });
        command.Options.Add(new Option<string?>(CaFileOption)
        {
            Description = "PEM file of the CA that signed the registry's TLS certificate, for https addresses (default: $MESH_REGISTRY_CA; else the system's roots).",
            Recursive = true,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MESH_REGISTRY_CA"),
        });
        foreach (var verb in CtlVerbs.Create(registry))
            command.Subcommands.Add(verb);
        return command;
    }
}
