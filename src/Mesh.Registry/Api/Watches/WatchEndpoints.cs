using System.Globalization;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Ca;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Registry.Api.Watches;

/// <summary><c>GET /v1/watch/{path}</c>: the changes after an index, waiting for one when there is none yet; served from this node's applied state.</summary>
internal sealed class WatchEndpoints(RegistryStore store, ApiAuthenticator auth)
{
    private const string Prefix = "/v1/watch";

    public void Map(IEndpointRouteBuilder api)
    {
        var watch = api.MapGroup(Prefix);
        watch.MapGet("/{**path}", WatchAsync);
        watch.MapOthers("/{**path}", context => ApiRoutes.MethodNotAllowed(context, "GET"));
    }


    private async Task WatchAsync(HttpContext context)
    {
        var path = ApiRequest.NodePathOf(context, Prefix);
        CaGuard.Check(path, subtree: false);
        var after = Query.Long(context, "after") ?? store.AppliedIndex;
        var recursive = Query.Bool(context, "recursive");
        var wait = ApiRequest.WaitOf(context);
        var result = await store.Hub.WaitAsync(path, recursive, after, wait, context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers["X-Mesh-Index"] = result.Index.ToString(CultureInfo.InvariantCulture);
        var events = new List<Contracts.ChangeEvent>(result.Events.Count);
        // A join token does not hear of nodes that not anyone may read: looked up in one read of the state.
        var open = NodeReadAccess.SeesOnlyOpenNodes(auth.Enabled, ApiAccessFilter.CallerOf(context))
            ? store.Read(s => result.Events.Select(e => RegistryStore.IsOpenToAnyone(s, e.Path)).ToArray())
            : null;
        for (var i = 0; i < result.Events.Count; i++)
        {
            var e = result.Events[i];
            // A recursive watch above /mesh/ca does not see the CA's nodes change.
            if ((!recursive || !CertificateAuthority.RegistryCertificateAuthority.IsCaPath(e.Path)) && (open is null || open[i]))
                events.Add(new Contracts.ChangeEvent(e.Index, Registry.Watches.WatchRecords.TypeName(e.Type), e.Path));
        }
        await ApiJson.WriteAsync(context, 200, new WatchResponse(result.Index, events), RegistryJson.Default.WatchResponse).ConfigureAwait(false);
    }
}
