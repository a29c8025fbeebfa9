using System.Globalization;
using System.Text.Json;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Paths;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

internal sealed partial class RegistryApi
{
    private const string ServicesRoot = "/services";

    private async Task WatchAsync(HttpContext context, string path)
    {
        GuardCa(path, subtree: false);
        var after = Query.Long(context, "after") ?? store.AppliedIndex;
        var recursive = Query.Bool(context, "recursive");
        var wait = WaitOf(context);
        var result = await store.Hub.WaitAsync(path, recursive, after, wait, context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers["X-Mesh-Index"] = result.Index.ToString(CultureInfo.InvariantCulture);
        await ApiJson.WriteAsync(context, 200, w =>
        {
            w.WriteNumber("index", result.Index);
            w.WriteStartArray("events");
            foreach (var e in result.Events)
            {
                // A recursive watch above /mesh/ca does not see the CA's nodes change.
                if (recursive && CertificateAuthority.RegistryCertificateAuthority.IsCaPath(e.Path))
                    continue;
                w.WriteStartObject();
                w.WriteNumber("index", e.Index);
                w.WriteString("type", TypeName(e.Type));
                w.WriteString("path", e.Path);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static string TypeName(ChangeEventType type) => type switch
    {
        ChangeEventType.Created => "created",
        ChangeEventType.DataChanged => "dataChanged",
        ChangeEventType.Deleted => "deleted",
        _ => "childrenChanged",
    };

    private async Task ServicesAsync(HttpContext context)
    {
        var (children, index) = store.Read(s => (s.GetChildren(ServicesRoot), s.AppliedIndex));
        context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
        await ApiJson.WriteAsync(context, 200, w =>
        {
            w.WriteNumber("index", index);
            w.WriteStartArray("services");
            foreach (var name in children.Children)
                w.WriteStringValue(name);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private async Task ServiceAsync(HttpContext context, string name)
    {
        var servicePath = ServicesRoot + "/" + name;
        if (name.Length == 0 || name.Contains('/') || !NodePath.IsValid(servicePath))
            throw new ApiException(400, ApiErrors.InvalidPath, $"'{name}' is not a valid service name");
        var instancesPath = servicePath + "/instances";
        var after = Query.Long(context, "after");
        if (after is { } from)
        {
            // A blocking query is a watch: served from this node's applied state, like /v1/watch.
            // The service node itself is watched too: its data is the owner record callers verify.
            await store.Hub.WaitAsync(servicePath, recursive: true, from, WaitOf(context), context.RequestAborted).ConfigureAwait(false);
        }

        var (instances, owner, index) = store.Read(s =>
        {
            var service = s.GetNode(servicePath);
            var owner = service.IsOk ? Mesh.Registry.Client.ServiceOwner.Parse(service.Data.Span, out _) : null;
            var list = new List<(string Id, ReadOnlyMemory<byte> Data)>();
            foreach (var child in s.GetChildren(instancesPath).Children)
            {
                var node = s.GetNode(instancesPath + "/" + child);
                if (node.IsOk)
                    list.Add((child, node.Data));
            }
            return (list, owner, s.AppliedIndex);
        });
        // The state may be ahead of the event that woke us; report what was read so the next
        // "after" neither repeats nor skips a change.
        context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
        await ApiJson.WriteAsync(context, 200, w =>
        {
            w.WriteString("service", name);
            w.WriteNumber("index", index);
            // Absent while nobody owns the name (or its record is invalid): callers then expect their own namespace.
            if (owner is not null)
                w.WriteString("owner", owner.Namespace);
            w.WriteStartArray("instances");
            foreach (var (id, data) in instances)
                WriteInstance(w, id, data);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static readonly string[] InstanceFields = ["address", "port", "weight", "version", "zone", "labels"];

    private static void WriteInstance(Utf8JsonWriter w, string id, ReadOnlyMemory<byte> data)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        try
        {
            using var document = JsonDocument.Parse(data);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in InstanceFields)
                {
                    if (document.RootElement.TryGetProperty(field, out var value))
                    {
                        w.WritePropertyName(field);
                        value.WriteTo(w);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: the instance is listed with its id only.
        }
        w.WriteEndObject();
    }
}
