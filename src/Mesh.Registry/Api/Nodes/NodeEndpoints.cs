using System.Globalization;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Ca;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Api.Writes;
using Mesh.Registry.Consensus;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Registry.Api.Nodes;

/// <summary>
/// <c>/v1/nodes/{path}</c>: read (linearizable unless stale or at a given index), create, set and
/// delete a node; writes go through <see cref="ApiWriter"/>.
/// </summary>
internal sealed class NodeEndpoints(IConsensus consensus, RegistryStore store, ApiWriter writes, ApiAuthenticator auth, TimeSpan requestTimeout)
{
    private const string Prefix = "/v1/nodes";

    /// <summary>The most node data one <c>children=true&amp;data=true</c> answer carries.</summary>
    public const long MaxChildrenDataBytes = 4 * 1024 * 1024;

    public void Map(IEndpointRouteBuilder api, LeaderFilter leader)
    {
        var nodes = api.MapGroup(Prefix);
        // A read at an index (minIndex=N) is served by any node from its applied state once it has applied N.
        nodes.MapGet("/{**path}", NodesAsync).AddEndpointFilter(leader.ForReads(context => context.Request.Query.ContainsKey("minIndex")));
        nodes.MapMethods("/{**path}", ["POST", "PUT", "DELETE"], NodesAsync).AddEndpointFilter(leader);
        nodes.MapOthers("/{**path}", NodesAsync);
    }


    private Task NodesAsync(HttpContext context)
    {
        var path = ApiRequest.NodePathOf(context, Prefix);
        var method = context.Request.Method;
        CaGuard.Check(path, subtree: method == "DELETE");
        return NodesCoreAsync(context, path, method);
    }

    private Task NodesCoreAsync(HttpContext context, string path, string method) => method switch
    {
        "GET" => GetNodeAsync(context, path),
        "POST" => CreateNodeAsync(context, path),
        "PUT" => SetNodeAsync(context, path),
        "DELETE" => DeleteNodeAsync(context, path),
        _ => ApiRoutes.MethodNotAllowed(context, "GET, POST, PUT, DELETE"),
    };

    private async Task GetNodeAsync(HttpContext context, string path)
    {
        var raw = Query.Bool(context, "raw");
        var children = Query.Bool(context, "children");
        var withData = Query.Bool(context, "data");
        if (withData && !children)
            throw ApiException.BadRequest("data=true goes with children=true");
        if (withData)
            CaGuard.Check(path, subtree: true); // the children's data of / or /mesh would include the CA's
        if (Query.Long(context, "minIndex") is { } minIndex)
            await WaitAppliedAsync(minIndex, context.RequestAborted).ConfigureAwait(false);
        var caller = ApiAccessFilter.CallerOf(context);
        if (children)
        {
            // The names and their data from one state, under the store's one lock. Listing needs
            // read rights on the node, and its children's data on each child (as in ZooKeeper).
            var (result, data, denied, index) = store.Read<(Core.Results.ChildrenResult, ReadOnlyMemory<byte>[]?, string?, long)>(s =>
            {
                var list = s.GetChildren(path);
                if (!list.IsOk)
                    return (list, null, null, s.AppliedIndex);
                if (!MayRead(s, caller, path))
                    return (list, null, path, s.AppliedIndex);
                ReadOnlyMemory<byte>[]? data = null;
                if (withData)
                {
                    data = new ReadOnlyMemory<byte>[list.Children.Count];
                    for (var i = 0; i < data.Length; i++)
                    {
                        var child = Core.Paths.NodePath.Combine(path, list.Children[i]);
                        if (!MayRead(s, caller, child))
                            return (list, null, child, s.AppliedIndex);
                        data[i] = s.GetNode(child).Data;
                    }
                }
                return (list, data, null, s.AppliedIndex);
            });
            // Also on errors: a client that read NoNode watches for the node's creation from here.
            context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
            if (!result.IsOk)
            {
                await ApiJson.ErrorAsync(context, result.Error, path).ConfigureAwait(false);
                return;
            }
            if (denied is not null)
                throw new ApiException(StatusCodes.Status403Forbidden, ApiErrors.Forbidden, NodeReadAccess.Refusal(denied));
            if (data?.Sum(d => (long)d.Length) is > MaxChildrenDataBytes and var total)
                throw ApiException.BadRequest($"the children of {path} hold {total} bytes of data, more than the {MaxChildrenDataBytes} one answer carries; read them one by one");
            await ApiJson.WriteAsync(context, 200, new ChildrenResponse(path, result.Children, ApiJson.Stat(result.Stat), data),
                RegistryJson.Default.ChildrenResponse).ConfigureAwait(false);
            return;
        }

        var (node, readable, applied) = store.Read(s => (s.GetNode(path), MayRead(s, caller, path), s.AppliedIndex));
        var headers = context.Response.Headers;
        headers["X-Mesh-Index"] = applied.ToString(CultureInfo.InvariantCulture);
        if (!node.IsOk)
        {
            await ApiJson.ErrorAsync(context, node.Error, path).ConfigureAwait(false);
            return;
        }
        if (!readable)
            throw new ApiException(StatusCodes.Status403Forbidden, ApiErrors.Forbidden, NodeReadAccess.Refusal(path));
        if (raw)
        {
            headers["X-Mesh-Version"] = node.Stat.Version.ToString(CultureInfo.InvariantCulture);
            headers["X-Mesh-Modified-Index"] = node.Stat.ModifiedIndex.ToString(CultureInfo.InvariantCulture);
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = node.Data.Length;
            await context.Response.Body.WriteAsync(node.Data, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new NodeResponse(path, node.Data, ApiJson.Stat(node.Stat)),
            RegistryJson.Default.NodeResponse).ConfigureAwait(false);
    }

    private bool MayRead(Core.RegistryStateMachine state, ApiCaller? caller, string path) =>
        NodeReadAccess.Allows(auth.Enabled, caller, state.GetAcl(path).Acl);

    /// <summary>Waits (up to the request timeout) until this node has applied <paramref name="index"/>; 503 otherwise.</summary>
    private async Task WaitAppliedAsync(long index, CancellationToken cancellationToken)
    {
        if (store.Read(s => s.AppliedIndex) >= index)
            return;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(requestTimeout);
        try
        {
            await consensus.WaitForAppliedAsync(index, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new QuorumUnavailableException($"this node has not applied index {index} within {requestTimeout.TotalSeconds:0.#} s; retry, or read without minIndex");
        }
    }

    private async Task CreateNodeAsync(HttpContext context, string path)
    {
        var mode = ApiRequest.ModeOf(context.Request.Query["mode"].ToString());
        var session = Query.Long(context, "session") ?? 0;
        var parents = Query.Bool(context, "parents");
        var (clientId, seq) = ApiRequest.IdempotencyOf(context);
        var data = await ApiRequest.ReadDataAsync(context).ConfigureAwait(false);
        var result = await writes.WriteOwnedAsync(context, new CreateNode(writes.Header(context, clientId, seq), path, data, mode, session, parents)).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await writes.FailureAsync(context, result, path).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 201, new WriteResponse(result.Path, ApiJson.Stat(result.Stat), result.Index),
            RegistryJson.Default.WriteResponse).ConfigureAwait(false);
    }

    private async Task SetNodeAsync(HttpContext context, string path)
    {
        var version = Query.Long(context, "version") ?? -1;
        var (clientId, seq) = ApiRequest.IdempotencyOf(context);
        var data = await ApiRequest.ReadDataAsync(context).ConfigureAwait(false);
        var result = await writes.WriteOwnedAsync(context, new SetData(writes.Header(context, clientId, seq), path, data, version)).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await writes.FailureAsync(context, result, path).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new WriteResponse(result.Path ?? path, ApiJson.Stat(result.Stat), result.Index),
            RegistryJson.Default.WriteResponse).ConfigureAwait(false);
    }

    private async Task DeleteNodeAsync(HttpContext context, string path)
    {
        var version = Query.Long(context, "version") ?? -1;
        var recursive = Query.Bool(context, "recursive");
        var (clientId, seq) = ApiRequest.IdempotencyOf(context);
        var result = await writes.WriteOwnedAsync(context, new DeleteNode(writes.Header(context, clientId, seq), path, version, recursive)).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await writes.FailureAsync(context, result, path).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new WriteResponse(null, null, result.Index), RegistryJson.Default.WriteResponse).ConfigureAwait(false);
    }
}
