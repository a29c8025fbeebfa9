using System.CommandLine;
using System.Text;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Configuration;

namespace Mesh.Cli.Commands.Ctl;

/// <summary>
/// <c>mesh ctl apply -f routes.yaml</c>: validates every route exactly as a sidecar will, then
/// writes them all to /config/routes in one transaction, so sidecars see all or none of them.
/// An invalid file is refused with every problem listed, and nothing is written.
/// </summary>
internal static class ApplyVerb
{
    public static Command Create(Option<string> registry)
    {
        var file = new Option<string>("--file", "-f") { Description = "Routes file (a `routes:` list, as in sidecar.yaml).", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Validate only; write nothing." };
        var command = CtlVerbs.Verb("apply", "Validate a routes file and push its routes to the registry.", registry, [file, dryRun],
            async (client, result, output, ct) =>
            {
                var path = result.GetValue(file)!;
                var routes = RouteFile.Parse(await File.ReadAllTextAsync(path, ct), path);
                if (result.GetValue(dryRun))
                {
                    output.WriteLine($"{path}: {routes.Count} route(s) valid: {string.Join(", ", routes.Select(r => r.Name))}");
                    return;
                }

                await EnsureParentsAsync(client, ct);
                var existing = (await client.GetChildrenAsync(ServicePaths.RoutesRoot, cancellationToken: ct)).Children.ToHashSet(StringComparer.Ordinal);
                var ops = routes.Select(r =>
                {
                    var nodePath = $"{ServicePaths.RoutesRoot}/{r.Name}";
                    var data = Encoding.UTF8.GetBytes(r.Yaml);
                    return existing.Contains(r.Name) ? TxnOp.Set(nodePath, data) : TxnOp.Create(nodePath, data);
                }).ToList();
                var applied = await client.TransactAsync(ops, ct);
                foreach (var route in routes)
                    output.WriteLine($"route/{route.Name} {(existing.Contains(route.Name) ? "configured" : "created")}");
                output.WriteLine($"applied at index {applied.Index}");
            });
        return command;
    }

    private static async Task EnsureParentsAsync(RegistryClient client, CancellationToken ct)
    {
        try
        {
            await client.CreateAsync(ServicePaths.RoutesRoot, [], CreateMode.Persistent, createParents: true, cancellationToken: ct);
        }
        catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.NodeExists)
        {
        }
    }
}
