using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Consensus;
using Mesh.Registry.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Registry.Api.Status;

/// <summary><c>/v1/status</c> (this node's view of the cluster, with each member's lag), <c>/healthz</c> and <c>/readyz</c>; served by this node itself.</summary>
internal sealed class StatusEndpoints(IConsensus consensus, MemberAddresses addresses, PeerStatusClient peers)
{
    public void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/healthz", context => ApiJson.WriteAsync(context, 200, new HealthResponse("ok"), RegistryJson.Default.HealthResponse));
        api.MapOthers("/healthz", context => ApiRoutes.MethodNotAllowed(context, "GET"));
        api.MapGet("/readyz", ReadyAsync);
        api.MapOthers("/readyz", context => ApiRoutes.MethodNotAllowed(context, "GET"));
        var status = api.MapGroup("/v1/status");
        status.MapGet("", StatusAsync);
        status.MapOthers("", context => ApiRoutes.MethodNotAllowed(context, "GET"));
    }


    /// <summary>Applied entries a node may trail its commit index and still call itself ready.</summary>
    private const long ReadyApplyLag = 1000;

    /// <summary>How long /v1/status waits for the other members' applied indexes.</summary>
    private static readonly TimeSpan PeerStatusTimeout = TimeSpan.FromMilliseconds(500);

    private async Task StatusAsync(HttpContext context)
    {
        var members = consensus.Members;
        var commit = consensus.CommitIndex;
        // DotNext keeps the leader's per-follower indexes to itself, so each member is asked for
        // its applied index; lag = this node's commit index minus that. A peer's own status call
        // (marked forwarded) does not ask further.
        var lags = new Dictionary<int, long?>();
        if (!context.Request.Headers.ContainsKey(LeaderForwarder.ForwardedHeader))
        {
            var authorization = context.Request.Headers.Authorization.ToString();
            var remote = members.Where(m => !m.IsLocal).ToArray();
            var applied = await peers.AppliedIndexesAsync(remote.Select(m => m.Id), authorization, PeerStatusTimeout, context.RequestAborted).ConfigureAwait(false);
            for (var i = 0; i < remote.Length; i++)
                lags[remote[i].Id] = applied[i] is { } index ? Math.Max(0, commit - index) : null;
        }
        var role = consensus.Role switch
        {
            ConsensusRole.Leader => "leader",
            ConsensusRole.Standalone => "standalone",
            ConsensusRole.Candidate => "candidate",
            _ => "follower",
        };
        var status = new StatusResponse(consensus.LocalId, role, consensus.Term, consensus.LeaderId, consensus.CommitIndex, consensus.AppliedIndex,
            [.. members.Select(member => new MemberStatus(
                member.Id,
                member.Address,
                addresses.Known(member.Id) is { } url ? url.ToString().TrimEnd('/') : null,
                member.Available,
                member.IsLocal ? member.Lag : lags.GetValueOrDefault(member.Id)))]);
        await ApiJson.WriteAsync(context, 200, status, RegistryJson.Default.StatusResponse).ConfigureAwait(false);
    }

    private Task ReadyAsync(HttpContext context)
    {
        var ready = consensus.LeaderId is not null && consensus.CommitIndex - consensus.AppliedIndex <= ReadyApplyLag;
        return ready
            ? ApiJson.WriteAsync(context, 200, new HealthResponse("ready"), RegistryJson.Default.HealthResponse)
            : ApiJson.ErrorAsync(context, 503, ApiErrors.Unavailable, consensus.LeaderId is null ? "no known leader" : "catching up with the log");
    }
}
