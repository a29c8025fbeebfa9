using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Consensus;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

internal sealed partial class RegistryApi
{
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
        await ApiJson.WriteAsync(context, 200, w =>
        {
            w.WriteNumber("id", consensus.LocalId);
            w.WriteString("role", consensus.Role switch
            {
                ConsensusRole.Leader => "leader",
                ConsensusRole.Standalone => "standalone",
                ConsensusRole.Candidate => "candidate",
                _ => "follower",
            });
            w.WriteNumber("term", consensus.Term);
            if (consensus.LeaderId is { } leader)
                w.WriteNumber("leader", leader);
            else
                w.WriteNull("leader");
            w.WriteNumber("commitIndex", consensus.CommitIndex);
            w.WriteNumber("appliedIndex", consensus.AppliedIndex);
            w.WriteStartArray("members");
            foreach (var member in members)
            {
                w.WriteStartObject();
                w.WriteNumber("id", member.Id);
                w.WriteString("address", member.Address);
                if (addresses.Known(member.Id) is { } url)
                    w.WriteString("clientUrl", url.ToString().TrimEnd('/'));
                w.WriteBoolean("available", member.Available);
                if ((member.IsLocal ? member.Lag : lags.GetValueOrDefault(member.Id)) is { } lag)
                    w.WriteNumber("lag", lag);
                else
                    w.WriteNull("lag");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private Task ReadyAsync(HttpContext context)
    {
        var ready = consensus.LeaderId is not null && consensus.CommitIndex - consensus.AppliedIndex <= ReadyApplyLag;
        return ready
            ? ApiJson.WriteAsync(context, 200, w => w.WriteString("status", "ready"))
            : ApiJson.ErrorAsync(context, 503, ApiErrors.Unavailable, consensus.LeaderId is null ? "no known leader" : "catching up with the log");
    }
}
