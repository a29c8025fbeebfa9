using System.Net;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Client.Tests.Transport;

/// <summary>
/// Found by the registry fault run (issue 13): the server keeps, per Mesh-Client-Id, only the last
/// applied Mesh-Request-Seq and refuses a lower one as StaleRequest (409). A client that sent
/// concurrent writes under one id got spurious 409s whenever two of them reached the leader out
/// of sequence order — and a retried write whose first attempt had been applied could be told
/// "stale" instead of its result. Each in-flight write now has a client id of its own.
/// </summary>
public sealed class ConcurrentWriteTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"mesh-client-concurrent-{Guid.NewGuid():N}");
    private RegistryNode? _node;

    public async Task InitializeAsync()
    {
        _node = new RegistryNode(new RegistryNodeOptions
        {
            Id = 1,
            DataDirectory = _data,
            ClientEndPoint = new IPEndPoint(IPAddress.Loopback, 0), // bound at 0; ClientUrl has the real port
        });
        await _node.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_node is not null)
            await _node.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task ConcurrentWrites_ThroughOneClient_AreAllApplied()
    {
        using var client = new RegistryClient(new RegistryClientOptions { Endpoints = [_node!.ClientUrl], RequestTimeout = TimeSpan.FromSeconds(20) });
        await client.CreateAsync("/c", [], createParents: true);
        for (var round = 0; round < 5; round++)
        {
            var writes = Enumerable.Range(0, 64).Select(i => client.CreateAsync($"/c/r{round}-{i}", [1]));
            var results = await Task.WhenAll(writes);
            Assert.Equal(64, results.Select(r => r.Path).Distinct().Count());
        }
        Assert.Equal(5 * 64, (await client.GetChildrenAsync("/c")).Children.Count);
    }

}
