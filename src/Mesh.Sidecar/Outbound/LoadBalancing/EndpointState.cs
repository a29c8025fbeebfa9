// The mutable runtime state of one endpoint (in-flight count, failures, ejection), kept apart
// from the immutable MeshEndpoint and carried over when discovery sends a new snapshot.
using System.Net;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;

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
    private string _destinationPrefix;
    private string _tlsDestinationPrefix;

    public EndpointState(MeshEndpoint endpoint)
    {
        _endpoint = endpoint;
        _destinationPrefix = MakePrefix(endpoint);
        _tlsDestinationPrefix = "https" + _destinationPrefix[4..];
    }

    public MeshEndpoint Endpoint => Volatile.Read(ref _endpoint);

    /// <summary>"http://address:port", built once per endpoint change, never per request.</summary>
    public string DestinationPrefix => Volatile.Read(ref _destinationPrefix);

    /// <summary>"https://address:port", for mTLS hops.</summary>
    public string TlsDestinationPrefix => Volatile.Read(ref _tlsDestinationPrefix);

    public bool IsEjected => Volatile.Read(ref EjectedUntil) != 0;

    public void Update(MeshEndpoint endpoint)
    {
        var prefix = MakePrefix(endpoint);
        Volatile.Write(ref _destinationPrefix, prefix);
        Volatile.Write(ref _tlsDestinationPrefix, "https" + prefix[4..]);
        Volatile.Write(ref _endpoint, endpoint);
    }

    private static string MakePrefix(MeshEndpoint endpoint) =>
        IPAddress.TryParse(endpoint.Address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"http://[{endpoint.Address}]:{endpoint.Port}"
            : $"http://{endpoint.Address}:{endpoint.Port}";
}
