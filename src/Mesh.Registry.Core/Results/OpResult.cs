namespace Mesh.Registry.Core.Results;

/// <summary>
/// The result of one transaction op. <see cref="Path"/> is the created path for creates (with
/// the sequential suffix), the op's path otherwise; <see cref="Stat"/> is set for successful
/// creates and sets.
/// </summary>
public readonly record struct OpResult(ErrorCode Error, string Path, NodeStat Stat);
