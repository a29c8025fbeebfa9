using Mesh.Registry.Hosting;

namespace Mesh.Registry.Client.Tests;

/// <summary>Clients of a <see cref="TestCluster"/>, with short long-polls so failovers show quickly.</summary>
internal static class ClusterClients
{
    public static RegistryClient For(TestCluster cluster, params int[] nodeIds) =>
        For(nodeIds.Length == 0 ? cluster.Nodes.Where(n => n is not null).Select(n => n!) : nodeIds.Select(id => cluster.Nodes[id - 1]!));

    /// <summary>A client of every node; <paramref name="streamData"/> false: its watch stream asks for no data, so every change is read.</summary>
    public static RegistryClient For(TestCluster cluster, bool streamData) =>
        For(cluster.Nodes.Where(n => n is not null).Select(n => n!), streamData);

    public static RegistryClient For(IEnumerable<RegistryNode> nodes, bool streamData = true) =>
        new(new RegistryClientOptions
        {
            Endpoints = [.. nodes.Select(n => n.ClientUrl)],
            RequestTimeout = TimeSpan.FromSeconds(8),
            WatchWait = TimeSpan.FromSeconds(2),
            StreamData = streamData,
        });

    public static ServiceInstance Instance(string id, int port, int weight = 100, string version = "v1") =>
        new() { Id = id, Address = "127.0.0.1", Port = port, Weight = weight, Version = version };

    /// <summary>Reads a stream until <paramref name="done"/> holds or the time runs out; returns what it saw.</summary>
    public static async Task<List<T>> CollectUntilAsync<T>(IAsyncEnumerable<T> stream, Func<List<T>, bool> done, TimeSpan timeout)
    {
        var seen = new List<T>();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var item in stream.WithCancellation(cts.Token))
            {
                seen.Add(item);
                if (done(seen))
                    break;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }

        return seen;
    }
}
