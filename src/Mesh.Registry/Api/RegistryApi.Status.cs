using Mesh.Registry.Consensus;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

internal sealed partial class RegistryApi
{
    /// <summary>Applied entries a node may trail its commit index and still call itself ready.</summary>
    private const long ReadyApplyLag = 1000;

    private Task StatusAsync(HttpContext context)
    {
        var members = consensus.Members;
        return ApiJson.WriteAsync(context, 200, w =>
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
                if (forwarder.ClientUrlOf(member.Id) is { } url)
                    w.WriteString("clientUrl", url.ToString().TrimEnd('/'));
                w.WriteBoolean("available", member.Available);
                if (member.Lag is { } lag)
                    w.WriteNumber("lag", lag);
                else
                    w.WriteNull("lag");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    private Task ReadyAsync(HttpContext context)
    {
        var ready = consensus.LeaderId is not null && consensus.CommitIndex - consensus.AppliedIndex <= ReadyApplyLag;
        return ready
            ? ApiJson.WriteAsync(context, 200, w => w.WriteString("status", "ready"))
            : ApiJson.ErrorAsync(context, 503, ApiErrors.Unavailable, consensus.LeaderId is null ? "no known leader" : "catching up with the log");
    }
}
