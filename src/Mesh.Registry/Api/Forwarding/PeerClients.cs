using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Registry.Api.Forwarding;

/// <summary>
/// The two HTTP clients a node talks to its peers' client API with. Reads (forwarded linearizable
/// reads, status polls, and ZooKeeper writes forwarded in a <see cref="SendOnceContent"/>) share
/// pooled connections. The HTTP API's forwarded writes never reuse a connection: on a
/// connection that ends before the answer, the handler resends a request by itself when the
/// connection was reused; were the resend's connection refused, a write the leader may have
/// applied would look "never sent". With no reuse, a failed connect proves nothing was sent.
/// </summary>
internal sealed class PeerClients : IDisposable
{
    public PeerClients(X509Certificate2Collection? trust = null)
    {
        Reads = new HttpMessageInvoker(NewHandler(trust, pooled: true));
        Writes = new HttpMessageInvoker(NewHandler(trust, pooled: false));
    }

    public HttpMessageInvoker Reads { get; }

    /// <summary>Every request sent on it must say <c>Connection: close</c> (<see cref="LeaderTransformer"/> does).</summary>
    public HttpMessageInvoker Writes { get; }

    private static SocketsHttpHandler NewHandler(X509Certificate2Collection? trust, bool pooled) => new()
    {
        SslOptions = trust is { Count: > 0 } ? Mesh.Registry.Contracts.TlsTrust.ClientOptions(trust) : new(),
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        // Zero: a connection is never handed out a second time.
        PooledConnectionLifetime = pooled ? Timeout.InfiniteTimeSpan : TimeSpan.Zero,
        PooledConnectionIdleTimeout = pooled ? TimeSpan.FromMinutes(1) : TimeSpan.Zero,
        AutomaticDecompression = DecompressionMethods.None,
    };

    public void Dispose()
    {
        Reads.Dispose();
        Writes.Dispose();
    }
}
