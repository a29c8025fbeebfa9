using Mesh.Registry.Core.Acls;

namespace Mesh.Registry.Core.Tree;

internal enum UndoKind : byte
{
    Created,
    Deleted,
    DataSet,
    AclSet,
}

/// <summary>
/// One change made inside a transaction, with what is needed to take it back. For a created or
/// deleted node, <c>ModifiedIndex</c> holds the parent's child-modified index (pzxid) before it.
/// </summary>
internal readonly record struct UndoEntry(
    UndoKind Kind,
    string? Path,
    Node Node,
    Node? Parent,
    ReadOnlyMemory<byte> Data,
    long Version,
    long ModifiedIndex,
    long ModifiedTime,
    IReadOnlyList<AclEntry>? Acl = null)
{
    public static UndoEntry Created(string path, Node node, Node parent) => new(UndoKind.Created, path, node, parent, default, 0, parent.ChildModifiedIndex, 0);

    public static UndoEntry Deleted(string path, Node node, Node parent) => new(UndoKind.Deleted, path, node, parent, default, 0, parent.ChildModifiedIndex, 0);

    public static UndoEntry DataSet(Node node, ReadOnlyMemory<byte> data, long version, long modifiedIndex, long modifiedTime) =>
        new(UndoKind.DataSet, null, node, null, data, version, modifiedIndex, modifiedTime);

    /// <summary><c>Version</c> holds the node's ACL version before the change.</summary>
    public static UndoEntry AclSet(Node node) => new(UndoKind.AclSet, null, node, null, default, node.AclVersion, 0, 0, node.Acl);
}
