namespace Mesh.Registry.Contracts;

/// <summary>What happened to a node at registry index <see cref="Index"/>.</summary>
public sealed record ChangeEvent(long Index, string Type, string Path)
{
    public const string Created = "created";
    public const string DataChanged = "dataChanged";
    public const string Deleted = "deleted";
    public const string ChildrenChanged = "childrenChanged";
}
