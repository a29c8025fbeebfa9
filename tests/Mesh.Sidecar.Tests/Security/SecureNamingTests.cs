using System.Collections.Immutable;
using Mesh.Registry.Client;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Tests.Security;

/// <summary>
/// Secure naming on the calling side: the identity a caller expects for a service comes from the
/// service's owner record (or the operator's own sidecar.yaml), never from an instance's labels,
/// and a server of the wrong namespace is refused at a real TLS handshake and counted.
/// </summary>
public sealed class SecureNamingTests : IDisposable
{
    private readonly MeshTestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task ExpectedServer_RegisteredInstanceLabelledWithAnotherNamespace_IsTheOwnersIdentity()
    {
        await using var security = new SidecarSecurity(MeshTlsMode.Strict, _pki.Trust, _pki.Source("frontend"), MeshTestPki.Id("frontend"));
        var forged = new ServiceInstance { Id = "forged", Address = "127.0.0.1", Port = 1, Labels = ImmutableSortedDictionary<string, string>.Empty.Add("namespace", "bench") };

        var owned = RegistryEndpointSource.ToEndpoints(new EndpointSet("catalog", 7, [forged]) { Owner = "shop" }).Endpoints[0];
        Assert.Equal(MeshTestPki.Id("catalog", "shop"), security.ExpectedServer("catalog", owned));

        var ownedElsewhere = RegistryEndpointSource.ToEndpoints(new EndpointSet("payments", 7, [forged]) { Owner = "billing" }).Endpoints[0];
        Assert.Equal(MeshTestPki.Id("payments", "billing"), security.ExpectedServer("payments", ownedElsewhere));

        // Nobody owns the name (a registry without authentication): the caller's own namespace, not the label.
        var unowned = RegistryEndpointSource.ToEndpoints(new EndpointSet("catalog", 7, [forged])).Endpoints[0];
        Assert.Equal(MeshTestPki.Id("catalog", "shop"), security.ExpectedServer("catalog", unowned));
    }

    [Fact]
    public void StaticEndpoint_NamespaceLabelInTheSidecarsOwnFile_NamesThePeersNamespace()
    {
        var config = SidecarConfigLoader.Parse("""
            service: { name: frontend, namespace: shop }
            app: { address: http://127.0.0.1:8080 }
            endpoints:
              ledger:
                - { address: 127.0.0.1, port: 9000, labels: { namespace: finance } }
                - { address: 127.0.0.1, port: 9001 }
            """, "sidecar.yaml");
        var endpoints = config.Endpoints.Single(e => e.Service == "ledger").Endpoints;
        Assert.Equal("finance", endpoints[0].IdentityNamespace);
        Assert.Null(endpoints[1].IdentityNamespace);
    }

    [Fact]
    public async Task Handshake_ServerOfAnotherNamespace_IsRefusedAndCounted()
    {
        // bench's catalog holds a perfectly valid mesh certificate for ns/bench/sa/catalog.
        var validator = new PeerCertificateValidator(_pki.Trust);
        await using var intruder = await TlsTestServer.StartAsync(_pki.Source("catalog", ns: "bench"), validator);
        await using var security = new SidecarSecurity(MeshTlsMode.Strict, _pki.Trust, _pki.Source("frontend"), MeshTestPki.Id("frontend"));
        var endpoint = RegistryEndpointSource.ToEndpoints(new EndpointSet("catalog", 1,
            [new ServiceInstance { Id = "forged", Address = "127.0.0.1", Port = intruder.Url.Port }])
        { Owner = "shop" }).Endpoints[0];
        (SpiffeId Expected, SpiffeId Presented)? mismatch = null;
        security.Validator.IdentityMismatch += (expected, presented) => mismatch = (expected, presented);

        var invoker = security.UpstreamFor("catalog", endpoint);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var refused = await Assert.ThrowsAnyAsync<HttpRequestException>(() => invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, intruder.Url), timeout.Token));

        Assert.Equal(HttpRequestError.SecureConnectionError, refused.HttpRequestError);
        Assert.Equal((MeshTestPki.Id("catalog", "shop"), MeshTestPki.Id("catalog", "bench")), mismatch);
        Assert.Equal(1, security.Metrics.PeerIdentityMismatches);
    }

    [Fact]
    public async Task EndpointsMtlsInvoker_FollowsTheEndpointsOwner_AndStillRefusesAnotherNamespaceAtTheHandshake()
    {
        // A real mesh listener holding a valid certificate for ns/bench/sa/catalog.
        await using var server = await TlsTestServer.StartAsync(_pki.Source("catalog", ns: "bench"), new PeerCertificateValidator(_pki.Trust));
        await using var security = new SidecarSecurity(MeshTlsMode.Strict, _pki.Trust, _pki.Source("frontend"), MeshTestPki.Id("frontend"));
        var ownedByShop = new MeshEndpoint { Id = "catalog-1", Address = "127.0.0.1", Port = server.Url.Port, IdentityNamespace = "shop" };
        var state = new Mesh.Sidecar.Outbound.LoadBalancing.EndpointState(ownedByShop);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // The invoker is resolved once for the endpoint, not per request, and it expects shop's catalog.
        var invoker = state.MtlsInvoker("catalog", security);
        Assert.Same(invoker, state.MtlsInvoker("catalog", security));
        var refused = await Assert.ThrowsAnyAsync<HttpRequestException>(() => invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url), timeout.Token));
        Assert.Equal(HttpRequestError.SecureConnectionError, refused.HttpRequestError);
        Assert.Equal(1, security.Metrics.PeerIdentityMismatches);

        // Discovery now says bench owns the name: the next request expects bench's catalog, and gets it.
        state.Update(ownedByShop with { IdentityNamespace = "bench" });
        using var response = await state.MtlsInvoker("catalog", security).SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url), timeout.Token);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("spiffe://mesh.test/ns/shop/sa/frontend|", await response.Content.ReadAsStringAsync(timeout.Token), StringComparison.Ordinal);
        Assert.Equal(1, security.Metrics.PeerIdentityMismatches);
    }
}
