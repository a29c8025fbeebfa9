using System.Diagnostics;
using System.Net;
using Mesh.Registry.Client.Identity;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Tests.Security;

public sealed class RotationUnderLoadTests
{
    [Fact]
    public async Task ShortLivedCertificates_RotateSeveralTimesUnderContinuousLoad_WithZeroFailedRequests()
    {
        var lifetime = TimeSpan.FromSeconds(3); // renewed every 1.5 s
        using var pki = new MeshTestPki();
        await using var serverCerts = Rotator(pki, "catalog", lifetime);
        await using var clientCerts = Rotator(pki, "frontend", lifetime);
        await serverCerts.StartAsync();
        await clientCerts.StartAsync();
        var renewalErrors = 0;
        serverCerts.RenewalFailed += _ => Interlocked.Increment(ref renewalErrors);
        clientCerts.RenewalFailed += _ => Interlocked.Increment(ref renewalErrors);

        await using var server = await TlsTestServer.StartAsync(serverCerts, new PeerCertificateValidator(pki.Trust, serverCerts));
        // Short-lived pooled connections force fresh handshakes, which must pick up the new certificates.
        using var client = new HttpClient(MeshTlsOptions.CreateHandler(
            clientCerts, new PeerCertificateValidator(pki.Trust, clientCerts), MeshTestPki.Id("catalog"), TimeSpan.FromMilliseconds(200)));

        var ok = 0;
        var failures = new List<string>();
        var serverCertificatesSeen = new HashSet<string>();
        var stop = Stopwatch.StartNew();
        async Task LoadAsync(Version version)
        {
            while (stop.Elapsed < TimeSpan.FromSeconds(7))
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, server.Url) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
                    using var response = await client.SendAsync(request);
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.OK && body.StartsWith("spiffe://mesh.test/ns/shop/sa/frontend|", StringComparison.Ordinal))
                        Interlocked.Increment(ref ok);
                    else
                        lock (failures) failures.Add($"{(int)response.StatusCode} {body}");
                }
                catch (Exception ex)
                {
                    lock (failures) failures.Add(ex.ToString());
                }

                lock (serverCertificatesSeen)
                    serverCertificatesSeen.Add(serverCerts.Current.Certificate.Thumbprint);
            }
        }

        await Task.WhenAll(LoadAsync(HttpVersion.Version20), LoadAsync(HttpVersion.Version11), LoadAsync(HttpVersion.Version11));

        Assert.Empty(failures);
        Assert.True(ok > 50, $"only {ok} requests in 7 s");
        Assert.True(serverCerts.Rotations >= 4, $"server rotated {serverCerts.Rotations} times");
        Assert.True(clientCerts.Rotations >= 4, $"client rotated {clientCerts.Rotations} times");
        Assert.True(server.ClientCertificates.Count >= 3, $"the server saw {server.ClientCertificates.Count} distinct client certificates");
        Assert.Equal(0, renewalErrors);
    }

    private static CertificateRotator Rotator(MeshTestPki pki, string service, TimeSpan lifetime)
    {
        var id = MeshTestPki.Id(service);
        return new CertificateRotator(id, (csr, _) => pki.SignAsync(csr, id, lifetime));
    }
}
