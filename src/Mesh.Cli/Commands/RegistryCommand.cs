using System.CommandLine;
using System.Net;
using Mesh.Registry.Hosting;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh registry</c>: runs one registry node until Ctrl+C or SIGTERM.</summary>
internal static class RegistryCommand
{
    public const int StartupFailed = 2;

    public static Command Create()
    {
        var id = new Option<int>("--id") { Description = "This node's id: one of the ids in --peers.", Required = true };
        var peers = new Option<string?>("--peers")
        {
            Description = "The static voting members, this node included: id=raftHost:port[@clientHost:port],... "
                + "(1, 3 or 5). The @client part lets followers forward writes to the leader. Omit for a single-node registry.",
        };
        var data = new Option<string>("--data") { Description = "Data directory (write-ahead log, snapshots). Created if missing.", Required = true };
        var client = new Option<string>("--client")
        {
            Description = "host:port of the HTTP client API (and /metrics, /healthz, /readyz).",
            DefaultValueFactory = _ => "127.0.0.1:7001",
        };
        var snapshotEvery = new Option<long>("--snapshot-every")
        {
            Description = "Log entries between automatic snapshots.",
            DefaultValueFactory = _ => 20_000,
        };

        var command = new Command("registry", "Run one node of the replicated registry cluster.")
        {
            id, peers, data, client, snapshotEvery,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            RegistryNode node;
            try
            {
                var members = parseResult.GetValue(peers) is { Length: > 0 } text ? ClusterMember.ParseList(text) : [];
                var clientText = parseResult.GetValue(client)!;
                if (!IPEndPoint.TryParse(clientText, out var clientEndPoint) || clientEndPoint.Port == 0)
                    throw new FormatException($"--client '{clientText}' is not an IP address with a port");
                node = new RegistryNode(new RegistryNodeOptions
                {
                    Id = parseResult.GetValue(id),
                    Members = members,
                    DataDirectory = parseResult.GetValue(data)!,
                    ClientEndPoint = clientEndPoint,
                    SnapshotEvery = Math.Max(100, parseResult.GetValue(snapshotEvery)),
                });
                await node.StartAsync(cancellationToken);
            }
            catch (Exception e) when (e is StartupException or FormatException)
            {
                await error.WriteLineAsync($"mesh registry: {e.Message}");
                return StartupFailed;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }

            await using (node)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C / SIGTERM: stop cleanly.
                }
            }
            return 0;
        });
        return command;
    }
}
