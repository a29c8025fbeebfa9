namespace Mesh.Registry.Core.Results;

/// <summary>Result of <see cref="RegistryStateMachine.GetNode"/>. <see cref="Data"/> is immutable and shared: do not write through it.</summary>
public readonly record struct NodeResult(ErrorCode Error, ReadOnlyMemory<byte> Data, NodeStat Stat)
{
    public bool IsOk => Error == ErrorCode.Ok;
}

/// <summary>Result of <see cref="RegistryStateMachine.GetChildren"/>: child names sorted ordinally.</summary>
public readonly record struct ChildrenResult(ErrorCode Error, IReadOnlyList<string> Children, NodeStat Stat)
{
    public bool IsOk => Error == ErrorCode.Ok;
}

/// <summary>Result of <see cref="RegistryStateMachine.Exists"/>: <see cref="ErrorCode.NoNode"/> when absent.</summary>
public readonly record struct StatResult(ErrorCode Error, NodeStat Stat)
{
    public bool IsOk => Error == ErrorCode.Ok;
}

/// <summary>Result of <see cref="RegistryStateMachine.GetAcl"/>: <see cref="Acl"/> null is the open ACL (<see cref="Acls.NodeAcl.Entries"/>).</summary>
public readonly record struct AclResult(ErrorCode Error, IReadOnlyList<Acls.AclEntry>? Acl, NodeStat Stat)
{
    public bool IsOk => Error == ErrorCode.Ok;
}
