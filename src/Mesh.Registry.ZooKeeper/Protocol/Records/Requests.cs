using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary><c>CreateRequest</c>: the body of create, create2 and createContainer.</summary>
public sealed record CreateRequest(string? Path, byte[]? Data, IReadOnlyList<Acl>? Acl, int Flags) : IJuteRecord<CreateRequest>
{
    public static CreateRequest Read(ref JuteReader reader) =>
        new(reader.ReadString(), reader.ReadBuffer(), Records.Acl.ReadVector(ref reader), reader.ReadInt());

    public void Write(JuteWriter writer)
    {
        writer.String(Path).Buffer(Data);
        Records.Acl.WriteVector(writer, Acl);
        writer.Int(Flags);
    }
}

/// <summary><c>CreateTTLRequest</c>.</summary>
public sealed record CreateTtlRequest(string? Path, byte[]? Data, IReadOnlyList<Acl>? Acl, int Flags, long Ttl) : IJuteRecord<CreateTtlRequest>
{
    public static CreateTtlRequest Read(ref JuteReader reader) =>
        new(reader.ReadString(), reader.ReadBuffer(), Records.Acl.ReadVector(ref reader), reader.ReadInt(), reader.ReadLong());

    public void Write(JuteWriter writer)
    {
        writer.String(Path).Buffer(Data);
        Records.Acl.WriteVector(writer, Acl);
        writer.Int(Flags).Long(Ttl);
    }
}

/// <summary><c>DeleteRequest</c>.</summary>
public sealed record DeleteRequest(string? Path, int Version) : IJuteRecord<DeleteRequest>
{
    public static DeleteRequest Read(ref JuteReader reader) => new(reader.ReadString(), reader.ReadInt());

    public void Write(JuteWriter writer) => writer.String(Path).Int(Version);
}

/// <summary>A path and a watch flag: <c>ExistsRequest</c>, <c>GetDataRequest</c>, <c>GetChildrenRequest</c> and <c>GetChildren2Request</c> share this shape.</summary>
public sealed record PathWatchRequest(string? Path, bool Watch) : IJuteRecord<PathWatchRequest>
{
    public static PathWatchRequest Read(ref JuteReader reader) => new(reader.ReadString(), reader.ReadBool());

    public void Write(JuteWriter writer) => writer.String(Path).Bool(Watch);
}

/// <summary>A path alone: <c>SyncRequest</c>, <c>GetACLRequest</c>, <c>GetAllChildrenNumberRequest</c> and <c>GetEphemeralsRequest</c> (its prefix path) share this shape.</summary>
public sealed record PathRequest(string? Path) : IJuteRecord<PathRequest>
{
    public static PathRequest Read(ref JuteReader reader) => new(reader.ReadString());

    public void Write(JuteWriter writer) => writer.String(Path);
}

/// <summary><c>SetDataRequest</c>.</summary>
public sealed record SetDataRequest(string? Path, byte[]? Data, int Version) : IJuteRecord<SetDataRequest>
{
    public static SetDataRequest Read(ref JuteReader reader) => new(reader.ReadString(), reader.ReadBuffer(), reader.ReadInt());

    public void Write(JuteWriter writer) => writer.String(Path).Buffer(Data).Int(Version);
}

/// <summary><c>CheckVersionRequest</c> (a multi op).</summary>
public sealed record CheckVersionRequest(string? Path, int Version) : IJuteRecord<CheckVersionRequest>
{
    public static CheckVersionRequest Read(ref JuteReader reader) => new(reader.ReadString(), reader.ReadInt());

    public void Write(JuteWriter writer) => writer.String(Path).Int(Version);
}

/// <summary><c>SetACLRequest</c>.</summary>
public sealed record SetAclRequest(string? Path, IReadOnlyList<Acl>? Acl, int Version) : IJuteRecord<SetAclRequest>
{
    public static SetAclRequest Read(ref JuteReader reader) => new(reader.ReadString(), Records.Acl.ReadVector(ref reader), reader.ReadInt());

    public void Write(JuteWriter writer)
    {
        writer.String(Path);
        Records.Acl.WriteVector(writer, Acl);
        writer.Int(Version);
    }
}

/// <summary><c>AddWatchRequest</c>: mode 0 persistent, 1 persistent recursive.</summary>
public sealed record AddWatchRequest(string? Path, int Mode) : IJuteRecord<AddWatchRequest>
{
    public static AddWatchRequest Read(ref JuteReader reader) => new(reader.ReadString(), reader.ReadInt());

    public void Write(JuteWriter writer) => writer.String(Path).Int(Mode);
}

/// <summary><c>RemoveWatchesRequest</c> and <c>CheckWatchesRequest</c>: a path and a <see cref="WatcherType"/>.</summary>
public sealed record RemoveWatchesRequest(string? Path, int Type) : IJuteRecord<RemoveWatchesRequest>
{
    public static RemoveWatchesRequest Read(ref JuteReader reader) => new(reader.ReadString(), reader.ReadInt());

    public void Write(JuteWriter writer) => writer.String(Path).Int(Type);
}

/// <summary>
/// <c>SetWatches</c> (and with the two persistent lists, <c>SetWatches2</c>): the watches a client
/// re-registers after reconnecting, and the last zxid it saw, so the server fires what changed since.
/// </summary>
public sealed record SetWatchesRequest(
    long RelativeZxid,
    IReadOnlyList<string?> DataWatches,
    IReadOnlyList<string?> ExistWatches,
    IReadOnlyList<string?> ChildWatches,
    IReadOnlyList<string?> PersistentWatches,
    IReadOnlyList<string?> PersistentRecursiveWatches)
{
    public static SetWatchesRequest Read(ref JuteReader reader, bool version2)
    {
        var zxid = reader.ReadLong();
        var data = reader.ReadStringVector() ?? [];
        var exist = reader.ReadStringVector() ?? [];
        var child = reader.ReadStringVector() ?? [];
        var persistent = version2 ? reader.ReadStringVector() ?? [] : [];
        var recursive = version2 ? reader.ReadStringVector() ?? [] : [];
        return new SetWatchesRequest(zxid, data, exist, child, persistent, recursive);
    }

    public void Write(JuteWriter writer, bool version2)
    {
        writer.Long(RelativeZxid).StringVector([.. DataWatches]).StringVector([.. ExistWatches]).StringVector([.. ChildWatches]);
        if (version2)
            writer.StringVector([.. PersistentWatches]).StringVector([.. PersistentRecursiveWatches]);
    }
}
