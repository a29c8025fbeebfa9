// The mutable runtime state of one endpoint (in-flight count, failures, ejection), kept apart
// from the immutable MeshEndpoint and carried over when discovery sends a new snapshot.
using System.Net;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Forwarder;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal sealed class EndpointState
{
    // Written with Interlocked by the request path; read racily by pickers (a hint is enough).
    public int ActiveRequests;
    public long Requests;
    public long Failures;

    // Owned by OutlierDetector; EjectedUntil is a TimeProvider timestamp, 0 when in service.
    public int ConsecutiveFailures;
    public long EjectedUntil;
    public int EjectionCount;
    public long LastEjectionTimestamp;

    private MeshEndpoint _endpoint;
    private DestinationUris _destination;
    private DestinationUris _tlsDestination;
    private CachedInvoker? _mtls;

    public EndpointState(MeshEndpoint endpoint)
    {
        _endpoint = endpoint;
        var prefix = MakePrefix(endpoint);
        _destination = new DestinationUris(prefix);
        _tlsDestination = new DestinationUris("https" + prefix[4..]);
    }

    public MeshEndpoint Endpoint => Volatile.Read(ref _endpoint);

    /// <summary>"http://address:port" and its request Uris, built once per endpoint change, never per request.</summary>
    public DestinationUris Destination => Volatile.Read(ref _destination);

    /// <summary>"https://address:port" and its request Uris, for mTLS hops.</summary>
    public DestinationUris TlsDestination => Volatile.Read(ref _tlsDestination);

    public string DestinationPrefix => Destination.Prefix;

    /// <summary>
    /// The mTLS invoker for calls to this endpoint of <paramref name="service"/>: the one that
    /// accepts only the SPIFFE id this endpoint must present. Looked up once per endpoint change
    /// (the id depends on the endpoint's identity namespace), not per request: building the id
    /// validates its parts and the lookup hashes all three.
    /// </summary>
    public HttpMessageInvoker MtlsInvoker(string service, Security.SidecarSecurity security)
    {
        var endpoint = Endpoint;
        if (Volatile.Read(ref _mtls) is { } cached && ReferenceEquals(cached.Endpoint, endpoint)
            && ReferenceEquals(cached.Service, service) && ReferenceEquals(cached.Security, security))
            return cached.Invoker;
        var invoker = security.UpstreamFor(service, endpoint);
        Volatile.Write(ref _mtls, new CachedInvoker(endpoint, service, security, invoker));
        return invoker;
    }

    private sealed record CachedInvoker(MeshEndpoint Endpoint, string Service, Security.SidecarSecurity Security, HttpMessageInvoker Invoker);

    public bool IsEjected => Volatile.Read(ref EjectedUntil) != 0;

    public void Update(MeshEndpoint endpoint)
    {
        var prefix = MakePrefix(endpoint);
        Volatile.Write(ref _destination, new DestinationUris(prefix));
        Volatile.Write(ref _tlsDestination, new DestinationUris("https" + prefix[4..]));
        Volatile.Write(ref _endpoint, endpoint);
    }

    private static string MakePrefix(MeshEndpoint endpoint) =>
        IPAddress.TryParse(endpoint.Address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"http://[{endpoint.Address}]:{endpoint.Port}"
            : $"http://{endpoint.Address}:{endpoint.Port}";
}
