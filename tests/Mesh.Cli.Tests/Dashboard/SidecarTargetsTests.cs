using System.Collections.Immutable;
using Mesh.Dashboard;
using Mesh.Registry.Client;

namespace Mesh.Cli.Tests.Dashboard;

public sealed class SidecarTargetsTests
{
    private static ServiceInstance Instance(string address, string? adminPort) => new()
    {
        Id = "i",
        Address = address,
        Port = 15006,
        Labels = adminPort is null ? ImmutableSortedDictionary<string, string>.Empty : ImmutableSortedDictionary<string, string>.Empty.Add("adminPort", adminPort),
    };

    [Theory]
    [InlineData("127.0.0.1", "15000", "http://127.0.0.1:15000/")]
    [InlineData("::1", "15000", "http://[::1]:15000/")]
    [InlineData("catalog-0.shop.svc", "9901", "http://catalog-0.shop.svc:9901/")]
    public void AdminUrl_RegisteredAddressAndAdminPort_IsTheSidecarsAdminListener(string address, string port, string expected) =>
        Assert.Equal(expected, SidecarTargets.AdminUrl(Instance(address, port))?.ToString());

    [Theory]
    [InlineData("127.0.0.1", null)]
    [InlineData("127.0.0.1", "0")]
    [InlineData("127.0.0.1", "70000")]
    [InlineData("127.0.0.1", "80/../../x")]
    [InlineData("127.0.0.1", "-1")]
    [InlineData("evil.example/path?", "80")]
    [InlineData("user@host", "80")]
    [InlineData("", "80")]
    public void AdminUrl_NoOrBadAdminPortOrAddress_IsNull_SoNothingIsScraped(string address, string? port) =>
        Assert.Null(SidecarTargets.AdminUrl(Instance(address, port)));
}
