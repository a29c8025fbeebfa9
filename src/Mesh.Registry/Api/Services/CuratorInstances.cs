using System.Text.Json;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core;
using Mesh.Registry.Core.Paths;

namespace Mesh.Registry.Api.Services;

/// <summary>
/// Apps that register the Apache Curator service-discovery way (over the ZooKeeper port) are
/// endpoints of the mesh too: Curator keeps one node per instance at <c>BASE/NAME/ID</c>, its
/// data a JSON ServiceInstance (<c>name, id, address, port, sslPort, payload,
/// registrationTimeUTC, serviceType, uriSpec</c>), ephemeral for the session that registered it.
/// This reads them next to the sidecars' own <c>/services/NAME/instances/ID</c> when a service is
/// listed, so callers' sidecars route to them, <c>mesh ctl endpoints</c> shows them, and they go
/// when the Curator session ends. Nothing is copied: the Curator node is the record. Pure.
/// </summary>
internal static class CuratorInstances
{
    /// <summary>Curator's default base path, which is also the mesh's services root.</summary>
    public const string DefaultBasePath = "/services";

    /// <summary>
    /// The Curator instances of <paramref name="service"/> under <paramref name="basePath"/> in
    /// <paramref name="state"/>. Children that are not a Curator ServiceInstance (the sidecars'
    /// <c>instances</c> node when the base is /services, anything else) are skipped, and so are
    /// those <paramref name="mayRead"/> refuses (by path).
    /// </summary>
    public static List<ServiceInstanceResponse> Read(RegistryStateMachine state, string basePath, string service, Func<string, bool> mayRead)
    {
        var found = new List<ServiceInstanceResponse>();
        var servicePath = NodePath.Combine(basePath, service);
        foreach (var id in state.GetChildren(servicePath).Children)
        {
            var path = NodePath.Combine(servicePath, id);
            var node = state.GetNode(path);
            if (node.IsOk && mayRead(path) && Parse(id, node.Data.Span) is { } instance)
                found.Add(instance);
        }
        return found;
    }

    /// <summary>
    /// <paramref name="basePath"/> when it can be Curator's base: a node path below the root, and
    /// /services itself or outside it. Strictly under /services (say /services/foo) a join token of
    /// foo could write /services/foo/BAR/ID, which would then count as an instance of BAR.
    /// </summary>
    public static string CheckBasePath(string? basePath)
    {
        if (!NodePath.IsValid(basePath) || basePath == NodePath.Root)
            throw new FormatException($"--curator-base-path '{basePath}' is not a node path below the root such as /services");
        if (basePath != DefaultBasePath && NodePath.IsSelfOrDescendant(basePath!, DefaultBasePath))
            throw new FormatException($"--curator-base-path '{basePath}' is inside {DefaultBasePath}, whose children are the mesh's services; use {DefaultBasePath} itself or a path outside it such as /curator");
        return basePath!;
    }

    /// <summary>The service NAME of <c>BASE/NAME</c> or a path below it; null for anything else.</summary>
    public static string? ServiceOf(string basePath, string path)
    {
        if (path.Length <= basePath.Length + 1 || !path.StartsWith(basePath, StringComparison.Ordinal) || path[basePath.Length] != '/')
            return null;
        var rest = path.AsSpan(basePath.Length + 1);
        var slash = rest.IndexOf('/');
        return (slash < 0 ? rest : rest[..slash]).ToString();
    }

    /// <summary>
    /// The mesh service path (<c>/services/NAME</c>) a change at <paramref name="changePath"/> is a
    /// Curator instance change of: BASE/NAME or BASE/NAME/ID under a base other than /services
    /// (there the path is the service's already); null for anything else.
    /// </summary>
    public static string? ServicePathOf(string basePath, string changePath) =>
        basePath != DefaultBasePath && ServiceOf(basePath, changePath) is { } name
        && changePath.AsSpan(basePath.Length + 1).Count('/') <= 1
            ? string.Concat(DefaultBasePath, "/", name)
            : null;

    /// <summary>
    /// A Curator ServiceInstance as a mesh endpoint, or null when the data is not one: it must be a
    /// JSON object with a string <c>address</c> and a <c>port</c> (or, without one, an
    /// <c>sslPort</c>) between 1 and 65535. The node name is the instance id. Curator has no
    /// weight, version or zone: the weight is the mesh's default (100), and the labels say where
    /// the instance came from and its serviceType.
    /// </summary>
    public static ServiceInstanceResponse? Parse(string id, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || data[0] != (byte)'{')
            return null;
        try
        {
            var reader = new Utf8JsonReader(data);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (!root.TryGetProperty("address", out var address) || address.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(address.GetString()))
            {
                return null;
            }
            if ((Port(root, "port") ?? Port(root, "sslPort")) is not { } port)
                return null;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["registration"] = "curator" };
            if (root.TryGetProperty("serviceType", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() is { Length: > 0 } kind)
                labels["curator.serviceType"] = kind;
            return new ServiceInstanceResponse(id, address.GetString(), port, Weight: 100, Labels: labels);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static int? Port(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var port) && port is > 0 and <= 65535
            ? port
            : null;
}
