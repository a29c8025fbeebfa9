using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// Applies the records of a <c>data=true</c> streaming watch of <c>/services/NAME</c> to the
/// service's last <see cref="EndpointSet"/>, as a read of <c>GET /v1/services/NAME</c> would see
/// them: the owner record is the service node's data, an instance is a child of its
/// <c>instances</c> node (<see cref="ServiceInstanceResponse.Of"/>). Anything whose effect on the
/// set only the registry knows (a Curator instance, which depends on the registry's base path, or an
/// id listed twice) answers null: the caller reads the service instead. Pure.
/// </summary>
internal static class EndpointSetRecords
{
    private const string CuratorLabel = "registration";

    public static EndpointSet? Apply(EndpointSet last, IReadOnlyList<WatchStreamRecord> records, long index)
    {
        var servicePath = ServicePaths.Service(last.Service);
        var instancesPath = ServicePaths.Instances(last.Service);
        var owner = last.Owner;
        var instances = last.Instances.ToList();
        foreach (var record in records)
        {
            var path = record.Path!;
            if (record.ServicePath is not null || !IsSelfOrBelow(path, servicePath))
                return null; // a Curator instance under another base path
            if (path == servicePath)
            {
                if (record.Type is ChangeEvent.Created or ChangeEvent.DataChanged)
                    owner = ServiceOwner.Parse(record.Data!.Value.Span, out _)?.Namespace;
                else if (record.Type == ChangeEvent.Deleted)
                    owner = null;
            }
            else if (path == instancesPath)
            {
                // Its data is nothing to the set, unless the registry's Curator base is /services and it reads as an instance.
                if (record.Type is ChangeEvent.Created or ChangeEvent.DataChanged && !record.Data!.Value.IsEmpty)
                    return null;
            }
            else if (ChildOf(path, instancesPath) is { } id)
            {
                if (!Replace(instances, id, record))
                    return null;
            }
            else if (ChildOf(path, servicePath) is not null)
            {
                return null; // a child of the service node may be a Curator instance (base path /services)
            }
            // Deeper nodes are not listed.
        }
        return new EndpointSet(last.Service, index, [.. instances.OrderBy(i => i.Id, StringComparer.Ordinal)]) { Owner = owner };
    }

    private static bool Replace(List<ServiceInstance> instances, string id, WatchStreamRecord record)
    {
        var at = -1;
        for (var i = 0; i < instances.Count; i++)
        {
            if (instances[i].Id != id)
                continue;
            // Listed twice (a Curator instance with the same id), or a Curator one: which one changed is the registry's to say.
            if (at >= 0 || instances[i].Labels.GetValueOrDefault(CuratorLabel) == "curator")
                return false;
            at = i;
        }
        if (at >= 0 && record.Type is not ChangeEvent.ChildrenChanged)
            instances.RemoveAt(at);
        if (record.Type is ChangeEvent.Created or ChangeEvent.DataChanged)
            instances.Add(RegistryClient.ToInstance(ServiceInstanceResponse.Of(id, record.Data!.Value.Span)));
        return true;
    }

    private static bool IsSelfOrBelow(string path, string ancestor) =>
        path == ancestor || (path.Length > ancestor.Length && path[ancestor.Length] == '/' && path.StartsWith(ancestor, StringComparison.Ordinal));

    /// <summary>The name of <paramref name="path"/> when it is a direct child of <paramref name="parent"/>, else null.</summary>
    internal static string? ChildOf(string path, string parent)
    {
        var start = parent == "/" ? 1 : parent.Length + 1;
        if (path.Length <= start || !IsSelfOrBelow(path, parent) || path.IndexOf('/', start) >= 0)
            return null;
        return path[start..];
    }
}
