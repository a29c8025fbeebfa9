using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Outbound;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Tests.Outbound;

public sealed class RetryPolicyTests
{
    // attempts: 3, retryOn: [502, 503, 504, connect-failure] (the defaults).
    private static readonly RetryPolicy Defaults = new(new RetryConfig());

    // attempts: 3, retryOn: [503] (no connect-failure, no 502).
    private static readonly RetryPolicy Only503 = new(new RetryConfig { RetryOnStatusCodes = [503], RetryOnConnectFailure = false });

    public static TheoryData<string, int, bool, int, ForwarderError, bool, bool, bool> Table => new()
    {
        // policy, attempt, replayable, status, error, connect failure, response started → retry?
        // A response the route retries on, with attempts left.
        { "defaults", 1, true, 503, ForwarderError.None, false, false, true },
        { "defaults", 2, true, 502, ForwarderError.None, false, false, true },
        { "defaults", 1, true, 504, ForwarderError.None, false, false, true },
        // Not a status the route names.
        { "defaults", 1, true, 200, ForwarderError.None, false, false, false },
        { "defaults", 1, true, 500, ForwarderError.None, false, false, false },
        { "defaults", 1, true, 429, ForwarderError.None, false, false, false },
        { "only503", 1, true, 502, ForwarderError.None, false, false, false },
        { "only503", 1, true, 503, ForwarderError.None, false, false, true },
        // Out of attempts, or not safe to send again (POST, a body, an upgrade).
        { "defaults", 3, true, 503, ForwarderError.None, false, false, false },
        { "defaults", 1, false, 503, ForwarderError.None, false, false, false },
        { "defaults", 1, false, 0, ForwarderError.Request, true, false, false },
        // A failed connect (refused, TLS refused): nothing was sent, another endpoint may take it.
        { "defaults", 1, true, 0, ForwarderError.Request, true, false, true },
        { "only503", 1, true, 0, ForwarderError.Request, true, false, false },
        // A reset before the response head answers 502: retried where 502 is.
        { "defaults", 1, true, 0, ForwarderError.Request, false, false, true },
        { "only503", 1, true, 0, ForwarderError.Request, false, false, false },
        // Something already went back to the caller.
        { "defaults", 1, true, 0, ForwarderError.Request, true, true, false },
        // Broke half-way or timed out: the exchange is not repeated.
        { "defaults", 1, true, 0, ForwarderError.RequestTimedOut, false, false, false },
        { "defaults", 1, true, 0, ForwarderError.ResponseBodyDestination, false, false, false },
        { "defaults", 1, true, 0, ForwarderError.RequestBodyDestination, false, false, false },
        { "defaults", 1, true, 0, ForwarderError.ResponseHeaders, false, false, false },
        { "defaults", 1, true, 0, ForwarderError.UpgradeResponseDestination, false, false, false },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Wants_Table(string policy, int attempt, bool replayable, int status, ForwarderError error, bool connectFailure, bool responseStarted, bool expected)
    {
        var rules = policy == "only503" ? Only503 : Defaults;
        var facts = new RetryFacts(attempt, replayable, status, error, connectFailure, responseStarted);

        Assert.Equal(expected, rules.Wants(facts));
    }

    [Fact]
    public void Wants_OneAttempt_NeverRetries()
    {
        var policy = new RetryPolicy(new RetryConfig { Attempts = 1 });

        Assert.False(policy.Wants(new RetryFacts(1, true, Status: 503)));
        Assert.False(policy.Wants(new RetryFacts(1, true, Error: ForwarderError.Request, ConnectFailure: true)));
    }
}
