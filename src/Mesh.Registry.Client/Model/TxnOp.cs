using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>One operation of an all-or-nothing transaction.</summary>
public sealed record TxnOp(string Op, string Path, byte[]? Data = null, long Version = -1, CreateMode Mode = CreateMode.Persistent, long Session = 0)
{
    public static TxnOp Check(string path, long version) => new("check", path, Version: version);
    public static TxnOp Create(string path, byte[] data, CreateMode mode = CreateMode.Persistent, long session = 0) =>
        new("create", path, data, Mode: mode, Session: session);
    public static TxnOp Set(string path, byte[] data, long version = -1) => new("set", path, data, version);
    public static TxnOp Delete(string path, long version = -1) => new("delete", path, Version: version);
}

/// <summary>The per-operation results of a committed transaction.</summary>
public sealed record TxnResult(long Index, IReadOnlyList<TxnOpResult> Results);
