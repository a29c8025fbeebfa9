// A real registry cluster (N nodes in this process on free loopback ports) for sidecar tests
// that need membership, like tests/Mesh.Registry.Tests/TestCluster.cs but on public API only.
using System.Net;
using System.Net.Sockets;
using Mesh.Registry.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.TestSupport;

internal sealed class RegistryTestCluster : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mesh-sidecar-tests", Guid.NewGuid().ToString("N"));
    private readonly List<RegistryNode> _nodes = [];

    public IReadOnlyList<RegistryNode> Nodes => _nodes;

    /// <summary>Comma-separated client URLs of every node, for a RegistryClient.</summary>
    public string Addresses => string.Join(",", _nodes.Select(n => n.ClientUrl.ToString().TrimEnd('/')));

    public static async Task<RegistryTestCluster> StartAsync(int size = 3)
    {
        for (var attempt = 1; ; attempt++)
        {
            var cluster = new RegistryTestCluster();
            try
            {
                var members = Enumerable.Range(1, size)
                    .Select(id => new ClusterMember(id, new IPEndPoint(IPAddress.Loopback, FreePort()), new IPEndPoint(IPAddress.Loopback, FreePort())))
                    .ToArray();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                foreach (var member in members)
                {
                    cluster._nodes.Add(new RegistryNode(new RegistryNodeOptions
                    {
                        Id = member.Id,
                        Members = members,
                        DataDirectory = Path.Combine(cluster._root, $"node{member.Id}"),
                        ClientEndPoint = member.ClientEndPoint!,
                        LoggerFactory = NullLoggerFactory.Instance,
                    }));
                }
                await Task.WhenAll(cluster._nodes.Select(n => n.StartAsync(timeout.Token)));
                while (!cluster._nodes.Any(n => n.IsLeader))
                    await Task.Delay(20, timeout.Token);
                return cluster;
            }
            catch (StartupException e) when (attempt < 3 && e.Message.Contains("in use", StringComparison.Ordinal))
            {
                await cluster.DisposeAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask()));
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
