using System.CommandLine;
using Mesh.Registry.Client;

namespace Mesh.Cli.Commands.Ctl;

/// <summary>
/// <c>mesh ctl owner show|claim|transfer</c>: secure naming for an admin. Which namespace owns a
/// service name decides the one identity its callers accept (docs/security.md); claiming a name
/// before any registration keeps another namespace from claiming it first.
/// </summary>
internal static class OwnerVerb
{
    public static Command Create(Option<string> registry)
    {
        var owner = new Command("owner", "Show, claim or transfer which namespace owns a service name (secure naming; claim and transfer need an admin token).");

        var optionalService = new Argument<string?>("service") { Description = "Service name (default: every service).", Arity = ArgumentArity.ZeroOrOne };
        owner.Subcommands.Add(CtlVerbs.Verb("show", "Print the namespace that owns a service name, or every service's owner.", registry, [optionalService],
            async (client, result, output, ct) =>
            {
                IReadOnlyList<string> names = result.GetValue(optionalService) is { } one ? [one] : await client.ListServicesAsync(ct);
                output.WriteLine($"{"SERVICE",-24} OWNER");
                foreach (var name in names)
                    output.WriteLine($"{name,-24} {await DescribeAsync(client, name, ct)}");
            }));

        var service = new Argument<string>("service") { Description = "Service name." };
        var ns = new Argument<string>("namespace") { Description = "The namespace to own it." };
        owner.Subcommands.Add(CtlVerbs.Verb("claim", "Give a service name nobody owns yet to a namespace (refused if another namespace owns it).", registry, [service, ns],
            async (client, result, output, ct) =>
            {
                var name = result.GetValue(service)!;
                await client.ClaimServiceAsync(name, result.GetValue(ns)!, ct);
                output.WriteLine($"{name} is owned by namespace {result.GetValue(ns)}");
            }));
        owner.Subcommands.Add(CtlVerbs.Verb("transfer", "Give a service name to a namespace, whoever owns it now. Callers then accept only that namespace's identity.", registry, [service, ns],
            async (client, result, output, ct) =>
            {
                var name = result.GetValue(service)!;
                var previous = await client.TransferServiceAsync(name, result.GetValue(ns)!, ct);
                output.WriteLine($"{name} is owned by namespace {result.GetValue(ns)} (was: {previous?.Namespace ?? "nobody"})");
            }));
        return owner;
    }

    private static async Task<string> DescribeAsync(RegistryClient client, string service, CancellationToken ct)
    {
        try
        {
            return await client.GetServiceOwnerAsync(service, ct) is { } owner ? owner.Namespace : "(nobody: the first join token to register it claims it)";
        }
        catch (FormatException e)
        {
            return $"(invalid: {e.Message})";
        }
    }
}
