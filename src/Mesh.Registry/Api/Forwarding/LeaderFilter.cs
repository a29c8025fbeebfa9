using Mesh.Registry.Consensus;
using Mesh.Registry.Telemetry;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api.Forwarding;

/// <summary>
/// "Must be the leader" in front of writes and linearizable reads. On the leader the request goes
/// on (a read after a read barrier); on a follower it is forwarded to the leader
/// (<see cref="LeaderForwarder"/>) and the endpoint does not run. A request that was already
/// forwarded to a node that no longer leads is answered 503, never forwarded again. With no
/// leader known, it waits up to <see cref="LeaderWait"/> for an election.
/// </summary>
internal sealed class LeaderFilter : IEndpointFilter
{
    public static readonly TimeSpan LeaderWait = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan LeaderPoll = TimeSpan.FromMilliseconds(25);

    private readonly IConsensus _consensus;
    private readonly MemberAddresses _addresses;
    private readonly LeaderForwarder _forwarder;
    private readonly RegistryMetrics? _metrics;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeProvider _time;
    private readonly bool _read;
    private readonly Func<HttpContext, bool> _servedHere;

    private LeaderFilter(IConsensus consensus, MemberAddresses addresses, LeaderForwarder forwarder, RegistryMetrics? metrics,
        TimeSpan requestTimeout, TimeProvider time, bool read, Func<HttpContext, bool> servedHere)
    {
        _consensus = consensus;
        _addresses = addresses;
        _forwarder = forwarder;
        _metrics = metrics;
        _requestTimeout = requestTimeout;
        _time = time;
        _read = read;
        _servedHere = servedHere;
    }

    /// <summary>For writes: on the leader only.</summary>
    public static LeaderFilter Writes(IConsensus consensus, MemberAddresses addresses, LeaderForwarder forwarder, RegistryMetrics? metrics, TimeSpan requestTimeout, TimeProvider time) =>
        new(consensus, addresses, forwarder, metrics, requestTimeout, time, read: false, _ => false);

    /// <summary>
    /// For reads: linearizable (on the leader, after a read barrier) unless <c>?stale=true</c>, or
    /// <paramref name="servedHere"/> says this node's applied state serves the request (a blocking query).
    /// </summary>
    public LeaderFilter ForReads(Func<HttpContext, bool>? servedHere = null) =>
        new(_consensus, _addresses, _forwarder, _metrics, _requestTimeout, _time, read: true,
            servedHere is null ? context => Query.Bool(context, "stale") : context => Query.Bool(context, "stale") || servedHere(context));

    // Not async: a request served here without waiting (a stale read, a write on the leader)
    // costs no state machine; only the read barrier, the wait for a leader and forwarding do.
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (_servedHere(context))
            return next(invocation);
        var forwarded = context.Request.Headers.ContainsKey(LeaderForwarder.ForwardedHeader);
        if (!IsLeader)
            return FollowerAsync(invocation, next, forwarded);
        NameSelf(context, forwarded);
        return _read ? AfterReadBarrierAsync(invocation, next) : next(invocation);
    }

    private bool IsLeader => _consensus.Role is ConsensusRole.Leader or ConsensusRole.Standalone;

    /// <summary>The leader names itself too, so a client that landed on it keeps sending here.</summary>
    private void NameSelf(HttpContext context, bool forwarded)
    {
        if (!forwarded && _addresses.Known(_consensus.LocalId) is { } self)
            context.Response.Headers[LeaderForwarder.LeaderHeader] = LeaderForwarder.HeaderValueOf(self);
    }

    private async ValueTask<object?> AfterReadBarrierAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        await ReadBarrierAsync(invocation.HttpContext).ConfigureAwait(false);
        return await next(invocation).ConfigureAwait(false);
    }

    private async ValueTask<object?> FollowerAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next, bool forwarded)
    {
        if (!await EnsureLeaderAsync(invocation.HttpContext, forwarded).ConfigureAwait(false))
            return Results.Empty;
        if (_read)
            await ReadBarrierAsync(invocation.HttpContext).ConfigureAwait(false);
        return await next(invocation).ConfigureAwait(false);
    }

    /// <summary>On a follower: true when this node has become the leader meanwhile; otherwise the request has been forwarded (or answered 503).</summary>
    private async Task<bool> EnsureLeaderAsync(HttpContext context, bool forwarded)
    {
        if (forwarded)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable, "this node is no longer the leader; retry").ConfigureAwait(false);
            return false;
        }
        var leader = _consensus.LeaderId;
        var started = _time.GetTimestamp();
        while (leader is null && _time.GetElapsedTime(started) < LeaderWait)
        {
            await Task.Delay(LeaderPoll, _time, context.RequestAborted).ConfigureAwait(false);
            leader = _consensus.LeaderId;
        }
        if (IsLeader)
            return true;
        if (leader is null)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable, "there is no leader right now; retry").ConfigureAwait(false);
            return false;
        }
        _metrics?.Forwarded();
        await _forwarder.ForwardAsync(context, leader.Value).ConfigureAwait(false);
        return false;
    }

    private async Task ReadBarrierAsync(HttpContext context)
    {
        using var timeout = new CancellationTokenSource(_requestTimeout, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, timeout.Token);
        try
        {
            await _consensus.ReadBarrierAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new TimeoutException("the read barrier did not complete in time (no quorum?)");
        }
    }
}
