using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Registry.Client.Transport;

namespace Mesh.Registry.Client.Tests.Transport;

/// <summary>
/// A write the client gives up on says whether it may have been applied: "unavailable" only when
/// no attempt could have been (every one refused or answered 503 Unavailable), "outcome unknown"
/// once any attempt was sent and left unanswered or was answered OutcomeUnknown. Scripted handlers
/// answer for the network, so no timing is involved.
/// </summary>
public sealed class WriteOutcomeTests
{
    private static readonly Uri[] OneAddress = [new("http://127.0.0.1:1/")];

    private static HttpRequestMessage Set() => new(HttpMethod.Put, "v1/nodes/x") { Content = new ByteArrayContent([]) };

    [Fact]
    public async Task Write_EveryAttemptAnsweredUnavailable_GivesUpAsUnavailable()
    {
        using var network = new Scripted(_ => Answer(HttpStatusCode.ServiceUnavailable, "Unavailable"));
        using var transport = new RegistryTransport(OneAddress, TimeSpan.FromMilliseconds(200), network);

        var error = await Assert.ThrowsAsync<RegistryUnavailableException>(() => transport.SendAsync(Set, write: true, null, CancellationToken.None));

        Assert.Equal(RegistryErrorCodes.Unavailable, error.Code);
        Assert.IsNotType<RegistryOutcomeUnknownException>(error);
    }

    [Fact]
    public async Task Write_AnsweredOutcomeUnknownThenUnavailable_GivesUpAsOutcomeUnknown()
    {
        var calls = 0;
        using var network = new Scripted(_ => Interlocked.Increment(ref calls) == 1
            ? Answer(HttpStatusCode.GatewayTimeout, "OutcomeUnknown")
            : Answer(HttpStatusCode.ServiceUnavailable, "Unavailable"));
        using var transport = new RegistryTransport(OneAddress, TimeSpan.FromMilliseconds(200), network);

        var error = await Assert.ThrowsAsync<RegistryOutcomeUnknownException>(() => transport.SendAsync(Set, write: true, null, CancellationToken.None));

        Assert.Equal(RegistryErrorCodes.OutcomeUnknown, error.Code);
        Assert.StartsWith("the write's outcome is unknown", error.Message);
    }

    [Fact]
    public async Task Write_ConnectionResetAfterSendingThenRefused_FailFast_GivesUpAsOutcomeUnknown()
    {
        // The reset attempt may have reached the leader; the refusals that follow say nothing about it.
        var calls = 0;
        using var network = new Scripted(_ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
                throw new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely.");
            throw Refused();
        });
        using var transport = new RegistryTransport(OneAddress, TimeSpan.FromMinutes(1), network, failFastWhenRefused: true);

        var error = await Assert.ThrowsAsync<RegistryOutcomeUnknownException>(() => transport.SendAsync(Set, write: true, null, CancellationToken.None));

        Assert.Equal(RegistryErrorCodes.OutcomeUnknown, error.Code);
    }

    [Fact]
    public async Task Read_SentAndUnanswered_GivesUpAsUnavailable()
    {
        using var network = new Scripted(_ => throw new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely."));
        using var transport = new RegistryTransport(OneAddress, TimeSpan.FromMilliseconds(200), network);

        var error = await Assert.ThrowsAsync<RegistryUnavailableException>(
            () => transport.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "v1/nodes/x"), write: false, null, CancellationToken.None));

        Assert.Equal(RegistryErrorCodes.Unavailable, error.Code);
    }

    [Fact]
    public async Task Write_OutcomeUnknownThenApplied_ReturnsTheAnswer()
    {
        // The retry carries the same idempotency headers, so its answer is the write's result.
        var calls = 0;
        using var network = new Scripted(_ => Interlocked.Increment(ref calls) == 1
            ? Answer(HttpStatusCode.GatewayTimeout, "OutcomeUnknown")
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}", Encoding.UTF8, "application/json") });
        using var transport = new RegistryTransport(OneAddress, TimeSpan.FromMinutes(1), network);

        using var response = await transport.SendAsync(Set, write: true, null, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, calls);
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, string code) => new(status)
    {
        Content = new StringContent($$"""{"error":"{{code}}","message":"scripted"}""", Encoding.UTF8, "application/json"),
    };

    private static HttpRequestException Refused() =>
        new(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));

    /// <summary>Answers every request with what <paramref name="answer"/> returns or throws for it.</summary>
    private sealed class Scripted(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                return Task.FromResult(answer(request));
            }
            catch (Exception e)
            {
                return Task.FromException<HttpResponseMessage>(e);
            }
        }
    }
}
