namespace Mesh.Registry.Core.Events;

/// <summary>The kinds of change a watch reports (JSON names: <c>created</c>, <c>dataChanged</c>, <c>deleted</c>, <c>childrenChanged</c>).</summary>
public enum ChangeEventType : byte
{
    Created = 1,
    DataChanged = 2,
    Deleted = 3,

    /// <summary>Reported on the parent when a child is created or deleted.</summary>
    ChildrenChanged = 4,
}

/// <summary>
/// One change caused by the command applied at <see cref="Index"/>. Events of one command keep
/// the order in which the changes were made, so watchers can resume "after index N".
/// </summary>
public readonly record struct ChangeEvent(long Index, ChangeEventType Type, string Path);
