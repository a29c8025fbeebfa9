using System.Buffers;
using System.Net;
using System.Text;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound.Interception;

namespace Mesh.Sidecar.Tests.Outbound.Interception;

public sealed class ProtocolSnifferTests
{
    private static SniffResult Classify(string text) => ProtocolSniffer.Classify(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text)));

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("POST /orders HTTP/1.1\r\n")]
    [InlineData("VERSION-CONTROL /x HTTP/1.1\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    public void RequestLines_AreHttp(string start) => Assert.Equal(SniffResult.Http, Classify(start));

    [Theory]
    [InlineData("\x16\x03\x01\x02\x00")] // a TLS ClientHello: the app's own TLS
    [InlineData("\0\x01hello")]
    [InlineData("get / HTTP/1.1\r\n")]
    [InlineData(" GET")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ")]
    public void AnythingElse_IsNotHttp(string start) => Assert.Equal(SniffResult.NotHttp, Classify(start));

    [Theory]
    [InlineData("")]
    [InlineData("GE")]
    [InlineData("DELETE")]
    public void APartialMethod_NeedsMoreBytes(string start) => Assert.Equal(SniffResult.NeedMore, Classify(start));
}

public sealed class OriginalDestinationTests
{
    [Fact]
    public void SockaddrIn_DecodesNetworkOrderPortAndAddress()
    {
        // AF_INET (host order, little-endian), port 8080 (network order), 10.77.2.2, zero padding.
        byte[] sockaddr = [2, 0, 0x1f, 0x90, 10, 77, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0];

        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.77.2.2"), 8080), OriginalDestination.Parse(sockaddr));
    }

    [Fact]
    public void AnotherFamilyOrAShortBuffer_IsNoDestination()
    {
        Assert.Null(OriginalDestination.Parse([10, 0, 0x1f, 0x90, 10, 77, 2, 2]));
        Assert.Null(OriginalDestination.Parse([2, 0, 0x1f]));
    }

    [Fact]
    public void AnAcceptedConnectionNobodyRedirected_HasNoOriginalDestination()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new System.Net.Sockets.TcpClient();
        client.Connect((IPEndPoint)listener.LocalEndpoint);
        using var accepted = listener.AcceptSocket();

        Assert.Null(OriginalDestination.Read(accepted));
    }
}

public sealed class InterceptedDestinationsTests
{
    private static VirtualAddress Virtual(string service, string text)
    {
        Assert.True(VirtualAddress.TryParse(service, text, out var parsed), text);
        return parsed!;
    }

    private static IPEndPoint At(string text) => IPEndPoint.Parse(text);

    private static readonly MeshEndpoint Reviews1 = new()
    {
        Id = "r1",
        Address = "10.0.0.5",
        Port = 15006,
        Labels = new Dictionary<string, string> { [InterceptedDestinations.AppPortLabel] = "9080" },
    };

    private static InterceptedDestinations Destinations(params VirtualAddress[] virtualAddresses) =>
        new(virtualAddresses, () => [("reviews", [Reviews1])]);

    [Fact]
    public void AnExactVirtualAddress_WinsOverAnAddressAndAPort()
    {
        var destinations = Destinations(Virtual("by-port", ":8080"), Virtual("by-address", "10.96.0.10"), Virtual("exact", "10.96.0.10:8080"));

        Assert.Equal("exact", destinations.ServiceFor(At("10.96.0.10:8080")));
        Assert.Equal("by-address", destinations.ServiceFor(At("10.96.0.10:9090")));
        Assert.Equal("by-port", destinations.ServiceFor(At("10.96.0.99:8080")));
    }

    [Fact]
    public void AKnownInstancesAddressAndAppPort_NameItsService()
    {
        Assert.Equal("reviews", Destinations().ServiceFor(At("10.0.0.5:9080")));
    }

    [Fact]
    public void AnotherPortOfAnInstancesAddress_IsNotTheService()
    {
        // Say, the same pod's metrics port, or something else on that host.
        Assert.Null(Destinations().ServiceFor(At("10.0.0.5:9090")));
    }

    [Fact]
    public void AnyOtherDestination_IsNotTheMeshs()
    {
        Assert.Null(Destinations(Virtual("catalog", "10.96.0.10:8080")).ServiceFor(At("93.184.216.34:443")));
    }

    [Theory]
    [InlineData("10.96.0.10:0")]
    [InlineData(":0")]
    [InlineData("catalog")]
    [InlineData("")]
    public void NonsenseVirtualAddresses_AreRefused(string text) => Assert.False(VirtualAddress.TryParse("catalog", text, out _));
}

public sealed class InterceptionConfigTests
{
    [Fact]
    public void ByDefault_InterceptionIsOn_WithNoVirtualAddresses()
    {
        var config = SidecarConfigLoader.Parse("service: { name: frontend }\n");

        Assert.True(config.Interception.Enabled);
        Assert.Empty(config.Interception.Services);
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.Interception.SniffTimeout);
    }

    [Fact]
    public void Services_TakeOneAddressOrAList()
    {
        var config = SidecarConfigLoader.Parse("""
            service: { name: frontend }
            interception:
              enabled: false
              sniffTimeout: 200ms
              services:
                catalog: 10.96.0.10:8080
                reviews: [10.96.0.11, ":9080"]
            """);

        Assert.False(config.Interception.Enabled);
        Assert.Equal(TimeSpan.FromMilliseconds(200), config.Interception.SniffTimeout);
        Assert.Equal(["catalog 10.96.0.10:8080", "reviews 10.96.0.11", "reviews :9080"], config.Interception.Services.Select(v => $"{v.Service} {v}"));
    }

    [Fact]
    public void ABadVirtualAddress_IsReportedWithItsPath()
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse("""
            service: { name: frontend }
            interception:
              services:
                catalog: not-an-address
            """));

        Assert.Contains(error.Errors, e => e.Path == "interception.services.catalog" && e.Message.Contains("not-an-address", StringComparison.Ordinal));
    }
}
