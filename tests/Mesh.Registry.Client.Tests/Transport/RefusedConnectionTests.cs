using System.Net.Sockets;
using Mesh.Registry.Client.Transport;

namespace Mesh.Registry.Client.Tests.Transport;

/// <summary>
/// A refused connection is an instant, certain answer ("nothing listens here"). A person at
/// <c>mesh ctl</c> wants it at once (fail fast); a sidecar must keep retrying through a registry
/// restart (the default). Scripted handlers answer for the network, so no timing is involved.
/// </summary>
public sealed class RefusedConnectionTests
{
    private static readonly Uri[] TwoAddresses = [new("http://127.0.0.1:1/"), new("http://127.0.0.2:1/")];

    private static HttpRequestMessage Status() => new(HttpMethod.Get, "v1/status");

    [Fact]
    public async Task EveryAddressRefuses_FailFast_GivesUpAfterOneRoundOverTheAddresses()
    {
        using var network = new Scripted(_ => Refused());
        using var transport = new RegistryTransport(TwoAddresses, TimeSpan.FromMinutes(1), network, failFastWhenRefused: true);

        var error = await Assert.ThrowsAsync<RegistryUnavailableException>(() => transport.SendAsync(Status, write: false, null, CancellationToken.None));

        Assert.StartsWith("no registry answered: every address refused the connection (tried 127.0.0.1:1, 127.0.0.2:1)", error.Message);
        Assert.Equal(2, network.Calls);
    }

    [Fact]
    public async Task EveryAddressRefuses_ByDefault_RetriesUntilTheDeadline()
    {
        using var network = new Scripted(_ => Refused());
        using var transport = new RegistryTransport(TwoAddresses, TimeSpan.FromMilliseconds(300), network);

        var error = await Assert.ThrowsAsync<RegistryUnavailableException>(() => transport.SendAsync(Status, write: false, null, CancellationToken.None));

        Assert.StartsWith("no registry answered within 0.3 s", error.Message);
        Assert.True(network.Calls > 2, $"{network.Calls} attempts");
    }

    [Fact]
    public async Task OneAddressRefusesAndOneTimesOut_FailFast_StillRetriesUntilTheDeadline()
    {
        // A node that is slow (or in an election) may answer on the next try; only refusals everywhere end early.
        using var network = new Scripted(request => request.RequestUri!.Host == "127.0.0.1" ? Refused() : new TaskCanceledException("timed out"));
        using var transport = new RegistryTransport(TwoAddresses, TimeSpan.FromMilliseconds(300), network, failFastWhenRefused: true);

        var error = await Assert.ThrowsAsync<RegistryUnavailableException>(() => transport.SendAsync(Status, write: false, null, CancellationToken.None));

        Assert.StartsWith("no registry answered within 0.3 s", error.Message);
        Assert.True(network.Calls > 2, $"{network.Calls} attempts");
    }

    private static HttpRequestException Refused() =>
        new(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));

    /// <summary>Fails every request with the exception <paramref name="failure"/> makes for it.</summary>
    private sealed class Scripted(Func<HttpRequestMessage, Exception> failure) : HttpMessageHandler
    {
        public int Calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            return Task.FromException<HttpResponseMessage>(failure(request));
        }
    }
}
