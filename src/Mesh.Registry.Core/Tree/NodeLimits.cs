namespace Mesh.Registry.Core.Tree;

public static class NodeLimits
{
    /// <summary>Largest node data accepted: 1 MiB.</summary>
    public const int MaxDataBytes = 1024 * 1024;

    /// <summary>Digits of the sequential suffix (ZooKeeper's <c>%010d</c>).</summary>
    public const int SequenceDigits = 10;
}
