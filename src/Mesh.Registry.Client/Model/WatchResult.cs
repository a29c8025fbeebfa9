using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// One answer of a watch: the events after the index asked for, and the index to ask after next.
/// </summary>
public sealed record WatchResult(long Index, IReadOnlyList<ChangeEvent> Events);
