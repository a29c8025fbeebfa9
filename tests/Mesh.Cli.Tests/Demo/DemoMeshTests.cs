using System.Net;
using Mesh.Demo;
using Mesh.Registry.Hosting;

namespace Mesh.Cli.Tests.Demo;

/// <summary>The demo's registry serves on the sockets it bound at port 0 first: no port is picked, released and bound again.</summary>
public sealed class DemoMeshTests
{
    [Fact]
    public async Task Start_RegistryNodes_ServeOnTheSocketsBoundBeforeTheyStarted()
    {
        var bound = new List<(IPEndPoint EndPoint, long? Inode)>();
        BoundListener Bind()
        {
            var listener = BoundListener.Loopback();
            lock (bound)
                bound.Add((listener.EndPoint, ListeningSockets.InodeOf(listener.EndPoint)));
            return listener;
        }

        await using var demo = new DemoMesh(Bind);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await demo.StartAsync(_ => { }, timeout.Token);

        Assert.Equal(6, bound.Count);
        Assert.All(bound, b => Assert.NotNull(b.Inode));
        var nodes = demo.RegistryNodes.ToArray();
        Assert.Equal(3, nodes.Length);
        // Every address the members are named by is one of the sockets bound first, and that very
        // socket (same inode) still serves it: nothing was closed and bound again in between.
        var named = nodes.SelectMany(n => n.Members).SelectMany(m => new[] { (IPEndPoint)m.RaftEndPoint, m.ClientEndPoint! })
            .Concat(nodes.Select(n => new IPEndPoint(IPAddress.Loopback, n.ClientUrl.Port))).Distinct().ToArray();
        Assert.Equal(6, named.Length);
        foreach (var endPoint in named)
        {
            var first = Assert.Single(bound, b => b.EndPoint.Equals(endPoint));
            Assert.Equal(first.Inode, ListeningSockets.InodeOf(endPoint));
        }
        Assert.Contains(nodes, n => n.IsLeader);
    }
}
