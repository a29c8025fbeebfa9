using System.Collections.Immutable;

namespace Mesh.Registry.Client;

/// <summary>
/// One running instance of a service, as stored at <c>/services/{service}/instances/{id}</c>.
/// </summary>
public sealed record ServiceInstance
{
    public required string Id { get; init; }
    public required string Address { get; init; }
    public required int Port { get; init; }
    public int Weight { get; init; } = 100;
    public string Version { get; init; } = "";
    public string Zone { get; init; } = "";
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Value equality that compares labels by content, so unchanged sets compare equal.</summary>
    public bool Equals(ServiceInstance? other) =>
        other is not null && Id == other.Id && Address == other.Address && Port == other.Port &&
        Weight == other.Weight && Version == other.Version && Zone == other.Zone &&
        Labels.Count == other.Labels.Count && Labels.All(kv => other.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    public override int GetHashCode() => HashCode.Combine(Id, Address, Port, Weight, Version, Zone);
}

/// <summary>
/// The live instances of a service at registry index <see cref="Index"/>. Immutable: a change
/// produces a new set.
/// </summary>
public sealed record EndpointSet(string Service, long Index, ImmutableArray<ServiceInstance> Instances)
{
    /// <summary>
    /// The namespace that owns the service name (secure naming: its callers accept only that
    /// namespace's identity for it), or null while nobody owns it.
    /// </summary>
    public string? Owner { get; init; }

    public bool SameInstancesAs(EndpointSet other) =>
        Owner == other.Owner && Instances.Length == other.Instances.Length && Instances.SequenceEqual(other.Instances);
}

/// <summary>
/// The documents under a config prefix (e.g. <c>/config/routes</c>) at registry index
/// <see cref="Index"/>, keyed by child name.
/// </summary>
public sealed record ConfigSnapshot(string Prefix, long Index, ImmutableSortedDictionary<string, byte[]> Documents);
