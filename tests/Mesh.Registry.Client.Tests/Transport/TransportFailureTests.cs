using System.Net;
using System.Net.Sockets;
using Mesh.Registry.Client.Transport;

namespace Mesh.Registry.Client.Tests.Transport;

/// <summary>
/// Found by the registry fault run: a connection reset right after connect reached the client as a
/// bare SocketException ("Transport endpoint is not connected") from inside HttpClient, not as an
/// HttpRequestException, and escaped the retry loop. Such a race cannot be produced on demand, so
/// a handler in front of the real one throws exactly what HttpClient threw; the node is real.
/// </summary>
public sealed class TransportFailureTests : IAsyncLifetime
{
    private TestCluster? _cluster;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(size: 1);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }

    [Theory]
    [InlineData(typeof(SocketException))]
    [InlineData(typeof(IOException))]
    [InlineData(typeof(HttpRequestException))]
    public async Task ANetworkFailureOutsideHttpRequestException_IsRetried_AndTheRequestSucceeds(Type failure)
    {
        using var faults = new FailFirst(2, failure) { InnerHandler = new SocketsHttpHandler() };
        var transport = new RegistryTransport([_cluster!.Nodes[0]!.ClientUrl], TimeSpan.FromSeconds(10), faults);

        using var response = await transport.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "v1/status"), write: false, attemptTimeout: null, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, faults.Calls);
    }

    /// <summary>Throws <paramref name="failure"/> on the first <paramref name="failures"/> requests, then passes them on.</summary>
    private sealed class FailFirst(int failures, Type failure) : DelegatingHandler
    {
        public int Calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref Calls) > failures)
                return base.SendAsync(request, cancellationToken);
            Exception error = failure == typeof(SocketException) ? new SocketException((int)SocketError.NotConnected)
                : failure == typeof(IOException) ? new IOException("Unable to read data from the transport connection: Connection reset by peer.")
                : new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");
            throw error;
        }
    }
}
