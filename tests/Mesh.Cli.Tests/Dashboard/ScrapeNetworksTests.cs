using System.Net;
using System.Net.Sockets;
using Mesh.Dashboard;

namespace Mesh.Cli.Tests.Dashboard;

/// <summary>The dashboard contacts only sidecars inside the scrape networks, checked on the address it connects to.</summary>
public sealed class ScrapeNetworksTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.31.255.254")]
    [InlineData("192.168.1.1")]
    [InlineData("::ffff:192.168.1.1")]
    [InlineData("::1")]
    [InlineData("fd12::7")]
    public void Private_LoopbackAndPrivateRanges_AreAllowed(string address) =>
        Assert.True(ScrapeNetworks.Private.Allows(IPAddress.Parse(address)));

    [Theory]
    [InlineData("169.254.169.254")] // cloud metadata
    [InlineData("172.32.0.1")]
    [InlineData("8.8.8.8")]
    [InlineData("fe80::1")]
    [InlineData("2001:db8::1")]
    [InlineData("0.0.0.0")]
    public void Private_LinkLocalAndPublicAddresses_AreNot(string address) =>
        Assert.False(ScrapeNetworks.Private.Allows(IPAddress.Parse(address)));

    [Theory]
    [InlineData("10.0.0.0/8,nonsense", "'nonsense' is not a network")]
    [InlineData("10.0.0.0/33", "'10.0.0.0/33' is not a network")]
    [InlineData(" , ", "no network given")]
    public void Parse_BadList_NamesTheBadEntry(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<FormatException>(() => ScrapeNetworks.Parse(text)).Message);

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")] // resolved first, then checked
    public async Task Scrape_OfAnAddressOutsideTheNetworks_NeverConnects_AndSaysWhy(string host)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var networks = ScrapeNetworks.Parse("10.0.0.0/8");
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectCallback = networks.ConnectAsync });

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri($"http://{host}:{port}/metrics")));

        var outside = Assert.IsType<OutsideScrapeNetworksException>(error.InnerException);
        Assert.Contains($"{host} is outside the scrape networks (10.0.0.0/8)", outside.Message);
        Assert.False(listener.Pending(), "a connection reached the listener");
    }

    [Fact]
    public async Task Scrape_OfAnAddressInsideTheNetworks_IsServed()
    {
        await using var app = await TestApp.NamedAsync("metrics-here");
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectCallback = ScrapeNetworks.Private.ConnectAsync });

        Assert.Equal("metrics-here", await client.GetStringAsync(new Uri(app.Url, "/metrics")));
    }

    [Fact]
    public async Task DashboardCommand_WithABadNetworkList_ExitsTwo_NamingIt()
    {
        var (code, _, err) = await MeshInProcess.RunAsync("dashboard", "--scrape-networks", "10.0.0.0/8,bogus", "--listen", "127.0.0.1:0");

        Assert.Equal(2, code);
        Assert.Contains("--scrape-networks: 'bogus' is not a network", err);
    }
}
