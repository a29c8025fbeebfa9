using System.Globalization;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Registry.Api.Services;

/// <summary>
/// <c>/v1/services</c>: the service names, and one service's owner and instances (a blocking query
/// with <c>after</c>). Instances are the sidecars' and those registered the Curator way under
/// <paramref name="curatorBasePath"/> (<see cref="CuratorInstances"/>).
/// </summary>
internal sealed class ServiceEndpoints(RegistryStore store, ApiAuthenticator auth, string curatorBasePath = CuratorInstances.DefaultBasePath)
{
    private const string Prefix = "/v1/services";
    private const string ServicesRoot = "/services";

    public void Map(IEndpointRouteBuilder api, LeaderFilter leader)
    {
        var services = api.MapGroup(Prefix);
        services.MapGet("", ServicesAsync).AddEndpointFilter(leader.ForReads());
        // A blocking query (after=N) is a watch, served here.
        services.MapGet("/{**name}", ServiceAsync).AddEndpointFilter(leader.ForReads(context => Query.Long(context, "after") is not null));
        services.MapOthers("/{**name}", context => ApiRoutes.MethodNotAllowed(context, "GET"));
    }

    private async Task ServicesAsync(HttpContext context)
    {
        var (children, index) = store.Read(s => (curatorBasePath == ServicesRoot
            ? s.GetChildren(ServicesRoot).Children
            : (IReadOnlyList<string>)[.. s.GetChildren(ServicesRoot).Children.Union(s.GetChildren(curatorBasePath).Children, StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            s.AppliedIndex));
        context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
        await ApiJson.WriteAsync(context, 200, new ServicesResponse(index, children), RegistryJson.Default.ServicesResponse).ConfigureAwait(false);
    }

    private async Task ServiceAsync(HttpContext context)
    {
        var name = context.Request.Path.Value![(Prefix.Length + 1)..];
        var servicePath = ServicesRoot + "/" + name;
        if (name.Length == 0 || name.Contains('/') || !NodePath.IsValid(servicePath))
            throw new ApiException(400, ApiErrors.InvalidPath, $"'{name}' is not a valid service name");
        var instancesPath = servicePath + "/instances";
        var after = Query.Long(context, "after");
        if (after is { } from)
        {
            // A blocking query is a watch: served from this node's applied state, like /v1/watch.
            // The service node itself is watched too: its data is the owner record callers verify.
            var wait = ApiRequest.WaitOf(context);
            if (curatorBasePath == ServicesRoot)
            {
                await store.Hub.WaitAsync(servicePath, recursive: true, from, wait, context.RequestAborted).ConfigureAwait(false);
            }
            else
            {
                // Curator instances live elsewhere: whichever subtree changes first answers.
                using var either = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                await Task.WhenAny(
                    store.Hub.WaitAsync(servicePath, recursive: true, from, wait, either.Token),
                    store.Hub.WaitAsync(NodePath.Combine(curatorBasePath, name), recursive: true, from, wait, either.Token)).ConfigureAwait(false);
                await either.CancelAsync().ConfigureAwait(false);
            }
        }

        var (instances, owner, index) = store.Read(s =>
        {
            var service = s.GetNode(servicePath);
            var owner = service.IsOk ? ServiceOwner.Parse(service.Data.Span, out _) : null;
            var list = new List<ServiceInstanceResponse>();
            // An instance node whose ZooKeeper ACL keeps the caller from reading it is left out.
            var caller = ApiAccessFilter.CallerOf(context);
            bool MayRead(string path) => NodeReadAccess.Allows(auth.Enabled, caller, s.GetAcl(path).Acl);
            foreach (var child in s.GetChildren(instancesPath).Children)
            {
                var path = instancesPath + "/" + child;
                var node = s.GetNode(path);
                if (node.IsOk && MayRead(path))
                    list.Add(ServiceInstanceResponse.Of(child, node.Data.Span));
            }
            list.AddRange(CuratorInstances.Read(s, curatorBasePath, name, MayRead));
            return (list, owner, s.AppliedIndex);
        });
        // The state may be ahead of the event that woke us; report what was read so the next
        // "after" neither repeats nor skips a change.
        context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
        await ApiJson.WriteAsync(context, 200, new ServiceResponse(name, index, owner?.Namespace, instances), RegistryJson.Default.ServiceResponse).ConfigureAwait(false);
    }
}
