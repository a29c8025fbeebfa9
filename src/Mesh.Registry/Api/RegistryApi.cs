using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Ca;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.Api.Nodes;
using Mesh.Registry.Api.Services;
using Mesh.Registry.Api.Sessions;
using Mesh.Registry.Api.Status;
using Mesh.Registry.Api.Txn;
using Mesh.Registry.Api.Watches;
using Mesh.Registry.Api.Writes;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Consensus;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Mesh.Registry.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Api;

/// <summary>
/// The client API of docs/registry-api.md, composed: one route group per resource (a folder
/// each), all behind the access policy and the body limit (<see cref="ApiAccessFilter"/>,
/// <see cref="BodyLimitFilter"/>); writes and linearizable reads behind <see cref="LeaderFilter"/>,
/// which forwards them from a follower to the leader. Exceptions become the contract's answers in
/// one place (<see cref="ApiErrorMapping"/>); unknown paths get its 404.
/// </summary>
internal sealed class RegistryApi(
    IConsensus consensus,
    RegistryStore store,
    RegistryWriter writer,
    LeaderForwarder forwarder,
    MemberAddresses addresses,
    PeerStatusClient peers,
    RegistryMetrics metrics,
    TimeSpan requestTimeout,
    RegistryCertificateAuthority ca,
    ApiAuthenticator auth,
    RegistryLimits limits,
    AnonymousGate anonymousGate,
    ILogger logger,
    TimeProvider time,
    Mesh.Registry.Sessions.KeepAliveBatcher keepAlives,
    bool claimServiceNames = true,
    string curatorBasePath = Services.CuratorInstances.DefaultBasePath)
{
    public void Map(WebApplication app)
    {
        app.Use(new ApiErrorMapping(logger).InvokeAsync);

        var leader = LeaderFilter.Writes(consensus, addresses, forwarder, metrics, requestTimeout, time);
        var sessions = new SessionLookup(consensus, store, requestTimeout);
        var writes = new ApiWriter(writer, store, sessions, auth, limits, claimServiceNames);
        // Access first (a refused caller's body is never read), then the body limit.
        var api = app.MapGroup("").AddEndpointFilter(new ApiAccessFilter(auth)).AddEndpointFilter(new BodyLimitFilter(limits));

        new StatusEndpoints(consensus, addresses, peers).Map(api);
        new NodeEndpoints(consensus, store, writes, auth, requestTimeout).Map(api, leader);
        new TxnEndpoints(writes, limits).Map(api, leader);
        new SessionEndpoints(store, sessions, writes, keepAlives).Map(api, leader);
        new WatchEndpoints(store, auth).Map(api);
        new WatchStreamEndpoints(store, auth, limits).Map(api);
        new ServiceEndpoints(store, auth, curatorBasePath).Map(api, leader);
        new CaEndpoints(ca, metrics, requestTimeout, auth.Failures).Map(api, leader, new AnonymousGateFilter(anonymousGate));
        api.MapOthers("/{**path}", ApiRoutes.NotFoundAsync);
    }
}
