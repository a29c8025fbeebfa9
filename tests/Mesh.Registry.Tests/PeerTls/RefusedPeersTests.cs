using Mesh.Registry.PeerTls;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Registry.Tests.PeerTls;

public sealed class RefusedPeersTests
{
    [Fact]
    public void Inbound_SameAddressWithinAMinute_IsLoggedOnce_ThenAgainWithTheCountLeftOut()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        var time = new FakeTimeProvider();
        var refused = new RefusedPeers(1, factory.CreateLogger("test"), time);

        for (var i = 0; i < 5; i++)
            refused.Inbound("10.0.0.9", "not a TLS handshake");
        refused.Inbound("10.0.0.8", "not a TLS handshake");
        time.Advance(RefusedPeers.Interval);
        refused.Inbound("10.0.0.9", "not a TLS handshake");

        var lines = logs.Entries.ToArray();
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Null(l.Exception));
        Assert.StartsWith("Node 1: refused a connection to the peer port from 10.0.0.9: not a TLS handshake (0 more", lines[0].Message, StringComparison.Ordinal);
        Assert.Contains("from 10.0.0.8", lines[1].Message, StringComparison.Ordinal);
        Assert.StartsWith("Node 1: refused a connection to the peer port from 10.0.0.9: not a TLS handshake (4 more", lines[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inbound_ManyAddresses_KeepsABoundedMemoryAndStillLogsEachOnce()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        var refused = new RefusedPeers(1, factory.CreateLogger("test"), new FakeTimeProvider());

        for (var i = 0; i < RefusedPeers.MaxAddresses * 3; i++)
        {
            refused.Inbound($"10.0.{i / 256}.{i % 256}", "x");
            Assert.InRange(refused.Remembered, 1, RefusedPeers.MaxAddresses);
        }

        Assert.Equal(RefusedPeers.MaxAddresses * 3, logs.Entries.Count);
    }

    [Fact]
    public void TooManyPending_IsOneLineAMinuteForAllAddresses()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        var refused = new RefusedPeers(2, factory.CreateLogger("test"), new FakeTimeProvider());

        refused.TooManyPending("10.0.0.1", 64);
        refused.TooManyPending("10.0.0.2", 64);

        Assert.Equal("Node 2: 64 peer handshakes were pending, so a connection from 10.0.0.1 was closed at once (0 more since the last such line; logged once a minute)", Assert.Single(logs.Messages));
    }
}
