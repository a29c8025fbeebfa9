// Whether an outbound attempt is tried again: the one place that decides, for a response that
// arrived (before it is sent on) and for an exchange that broke before its response head. A route
// compiles its `retries:` into one of these; the sidecar-wide RetryBudget has the last word. Polly
// only times what this decides (backoff with jitter between attempts; the route timeout around
// them is the route's RouteDeadline).
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Outbound;

/// <summary>What is known about an attempt when it could be retried.</summary>
/// <param name="Attempt">Attempts made so far, this one included.</param>
/// <param name="Replayable">Idempotent method, no request body, not an upgrade: safe to send again.</param>
/// <param name="Status">The upstream's response status when its head arrived; 0 when the exchange broke first.</param>
/// <param name="Error">The forwarder's verdict when the exchange broke.</param>
/// <param name="ConnectFailure">Nothing was sent: the connection (or its TLS handshake) failed.</param>
/// <param name="ResponseStarted">Something already went back to the caller.</param>
internal readonly record struct RetryFacts(
    int Attempt,
    bool Replayable,
    int Status = 0,
    ForwarderError Error = ForwarderError.None,
    bool ConnectFailure = false,
    bool ResponseStarted = false);

internal sealed class RetryPolicy
{
    private readonly bool[] _retryOnStatus = new bool[600];

    public RetryPolicy(RetryConfig config)
    {
        MaxAttempts = config.Attempts;
        RetryOnConnectFailure = config.RetryOnConnectFailure;
        foreach (var code in config.RetryOnStatusCodes)
        {
            if ((uint)code < 600)
                _retryOnStatus[code] = true;
        }
    }

    /// <summary>Total tries including the first; 1 never retries.</summary>
    public int MaxAttempts { get; }

    public bool RetryOnConnectFailure { get; }

    public bool RetriesOn(int statusCode) => (uint)statusCode < 600 && _retryOnStatus[statusCode];

    /// <summary>The route's rules applied to what happened, before the budget is asked. Pure.</summary>
    public bool Wants(in RetryFacts facts)
    {
        if (!facts.Replayable || facts.Attempt >= MaxAttempts || facts.ResponseStarted)
            return false;
        if (facts.Status != 0)
            return RetriesOn(facts.Status);
        // The exchange broke before a response head: only a failed request (refused, reset,
        // crashed) may go again, never a body or upgrade that broke half-way.
        if (facts.Error != ForwarderError.Request)
            return false;
        // Nothing was sent, so another endpoint may be tried.
        if (facts.ConnectFailure && RetryOnConnectFailure)
            return true;
        // A reset before the response head is answered 502 by this sidecar, so a route that
        // retries 502 retries it (as Envoy's 5xx covers resets).
        return RetriesOn(StatusCodes.Status502BadGateway);
    }

    /// <summary>
    /// Retry or not: the route's rules, then a retry taken from <paramref name="budget"/>, which
    /// reports the retry or its refusal (for the service of the last attempt, else the route's first).
    /// </summary>
    public bool ShouldRetry(in RetryFacts facts, RetryBudget budget, CompiledRoute route, ClusterState? lastCluster) =>
        Wants(facts) && budget.TryWithdraw(route, lastCluster?.Service ?? route.Backends[0].Service);
}
