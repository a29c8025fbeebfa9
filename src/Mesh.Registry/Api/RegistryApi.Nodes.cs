using System.Globalization;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Commands;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

internal sealed partial class RegistryApi
{
    private Task NodesAsync(HttpContext context, string path, string method)
    {
        GuardCa(path, subtree: method == "DELETE");
        return NodesCoreAsync(context, path, method);
    }

    private Task NodesCoreAsync(HttpContext context, string path, string method) => method switch
    {
        "GET" => GetNodeAsync(context, path),
        "POST" => CreateNodeAsync(context, path),
        "PUT" => SetNodeAsync(context, path),
        "DELETE" => DeleteNodeAsync(context, path),
        _ => MethodNotAllowed(context, "GET, POST, PUT, DELETE"),
    };

    private async Task GetNodeAsync(HttpContext context, string path)
    {
        var raw = Query.Bool(context, "raw");
        var children = Query.Bool(context, "children");
        if (children)
        {
            var (result, index) = store.Read(s => (s.GetChildren(path), s.AppliedIndex));
            // Also on errors: a client that read NoNode watches for the node's creation from here.
            context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
            if (!result.IsOk)
            {
                await ApiJson.ErrorAsync(context, result.Error, path).ConfigureAwait(false);
                return;
            }
            await ApiJson.WriteAsync(context, 200, new ChildrenResponse(path, result.Children, ApiJson.Stat(result.Stat)),
                RegistryJson.Default.ChildrenResponse).ConfigureAwait(false);
            return;
        }

        var (node, applied) = store.Read(s => (s.GetNode(path), s.AppliedIndex));
        var headers = context.Response.Headers;
        headers["X-Mesh-Index"] = applied.ToString(CultureInfo.InvariantCulture);
        if (!node.IsOk)
        {
            await ApiJson.ErrorAsync(context, node.Error, path).ConfigureAwait(false);
            return;
        }
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

    private async Task CreateNodeAsync(HttpContext context, string path)
    {
        var mode = ModeOf(context.Request.Query["mode"].ToString());
        var session = Query.Long(context, "session") ?? 0;
        var parents = Query.Bool(context, "parents");
        var (clientId, seq) = IdempotencyOf(context);
        var data = await ReadDataAsync(context).ConfigureAwait(false);
        var result = await WriteOwnedAsync(context, new CreateNode(HeaderFor(context, clientId, seq), path, data, mode, session, parents)).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await WriteFailureAsync(context, result, path).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 201, new WriteResponse(result.Path, ApiJson.Stat(result.Stat), result.Index),
            RegistryJson.Default.WriteResponse).ConfigureAwait(false);
    }

    private async Task SetNodeAsync(HttpContext context, string path)
    {
        var version = Query.Long(context, "version") ?? -1;
        var (clientId, seq) = IdempotencyOf(context);
        var data = await ReadDataAsync(context).ConfigureAwait(false);
        var result = await WriteOwnedAsync(context, new SetData(HeaderFor(context, clientId, seq), path, data, version)).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await WriteFailureAsync(context, result, path).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new WriteResponse(result.Path ?? path, ApiJson.Stat(result.Stat), result.Index),
            RegistryJson.Default.WriteResponse).ConfigureAwait(false);
    }

    private async Task DeleteNodeAsync(HttpContext context, string path)
    {
        var version = Query.Long(context, "version") ?? -1;
        var recursive = Query.Bool(context, "recursive");
        var (clientId, seq) = IdempotencyOf(context);
        var result = await WriteOwnedAsync(context, new DeleteNode(HeaderFor(context, clientId, seq), path, version, recursive)).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await WriteFailureAsync(context, result, path).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new WriteResponse(null, null, result.Index), RegistryJson.Default.WriteResponse).ConfigureAwait(false);
    }
}
