namespace Mesh.Registry.Contracts;

/// <summary><c>GET /v1/watch/{path}</c> answer: the events after the index asked for, and the index to ask after next.</summary>
public sealed record WatchResponse(long Index, IReadOnlyList<ChangeEvent> Events);
