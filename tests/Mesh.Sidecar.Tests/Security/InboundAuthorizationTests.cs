using System.Net;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Tests.Security;

/// <summary>Authorization on the real inbound path: mTLS caller id → policy → 403 with a reason, or through.</summary>
public sealed class InboundAuthorizationTests : IDisposable
{
    private readonly MeshTestPki _pki = new();
    private readonly SecurityMetrics _metrics = new();

    public void Dispose()
    {
        _metrics.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task DeniedIdentityGets403WithReason_AllowedIdentityGetsThrough()
    {
        var policies = new AuthorizationPolicySet(AuthorizationPolicyReader.Read("""
            authorization:
              - service: catalog
                rules:
                  - name: storefront
                    action: allow
                    from: [shop/frontend]
                    methods: [GET]
            """));
        var authorization = new InboundAuthorization("catalog", _metrics, policies);
        var validator = new PeerCertificateValidator(_pki.Trust);
        await using var server = await TlsTestServer.StartAsync(_pki.Source("catalog"), validator, MeshTlsMode.Strict, authorization);
        using var frontend = new HttpClient(MeshTlsOptions.CreateHandler(_pki.Source("frontend"), validator, MeshTestPki.Id("catalog")));
        using var billing = new HttpClient(MeshTlsOptions.CreateHandler(_pki.Source("billing"), validator, MeshTestPki.Id("catalog")));

        using var allowed = await frontend.GetAsync(new Uri(server.Url, "/items"));
        using var denied = await billing.GetAsync(new Uri(server.Url, "/items"));
        using var wrongMethod = await frontend.PostAsync(new Uri(server.Url, "/items"), new StringContent("x"));

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(
            "no rule of service 'catalog' allows spiffe://mesh.test/ns/shop/sa/billing GET /items",
            Assert.Single(denied.Headers.GetValues(InboundAuthorization.DeniedReasonHeader)));
        Assert.Equal(HttpStatusCode.Forbidden, wrongMethod.StatusCode);
    }

    [Fact]
    public async Task Permissive_PlaintextCallerIsCountedAndDeniedOnceAPolicyExists()
    {
        var measurements = new List<(string Name, long Value)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SecurityMetrics.MeterName)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (measurements)
                measurements.Add((instrument.Name, value));
        });
        listener.Start();

        var authorization = new InboundAuthorization("catalog", _metrics);
        await using var server = await TlsTestServer.StartAsync(_pki.Source("catalog"), new PeerCertificateValidator(_pki.Trust), MeshTlsMode.Permissive, authorization);
        using var plain = new HttpClient();

        using var before = await plain.GetAsync(server.PlainUrl);
        authorization.Policies = new AuthorizationPolicySet([new AuthorizationPolicy("catalog", [
            new AuthorizationRule { Name = "mesh-only", Action = AuthorizationAction.Allow, From = [IdentityPattern.AnyMeshIdentity] }])]);
        using var after = await plain.GetAsync(server.PlainUrl);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, after.StatusCode);
        lock (measurements)
        {
            Assert.Equal(2, measurements.Count(m => m.Name == "mesh.sidecar.inbound.plaintext_requests"));
            Assert.Equal(1, measurements.Count(m => m.Name == "mesh.sidecar.authz.denied"));
        }
    }
}
