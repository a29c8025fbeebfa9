using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary>A path alone: <c>CreateResponse</c> and <c>SyncResponse</c>.</summary>
public sealed record PathResponse(string? Path) : IJuteRecord<PathResponse>
{
    public static PathResponse Read(ref JuteReader reader) => new(reader.ReadString());

    public void Write(JuteWriter writer) => writer.String(Path);
}

/// <summary><c>Create2Response</c>.</summary>
public sealed record Create2Response(string? Path, Stat Stat) : IJuteRecord<Create2Response>
{
    public static Create2Response Read(ref JuteReader reader) => new(reader.ReadString(), Stat.Read(ref reader));

    public void Write(JuteWriter writer)
    {
        writer.String(Path);
        Stat.Write(writer);
    }
}

/// <summary>A stat alone: <c>ExistsResponse</c>, <c>SetDataResponse</c> and <c>SetACLResponse</c>.</summary>
public sealed record StatResponse(Stat Stat) : IJuteRecord<StatResponse>
{
    public static StatResponse Read(ref JuteReader reader) => new(Stat.Read(ref reader));

    public void Write(JuteWriter writer) => Stat.Write(writer);
}

/// <summary><c>GetDataResponse</c>.</summary>
public sealed record GetDataResponse(byte[]? Data, Stat Stat) : IJuteRecord<GetDataResponse>
{
    public static GetDataResponse Read(ref JuteReader reader) => new(reader.ReadBuffer(), Stat.Read(ref reader));

    public void Write(JuteWriter writer)
    {
        writer.Buffer(Data);
        Stat.Write(writer);
    }
}

/// <summary><c>GetChildrenResponse</c>, and <c>GetEphemeralsResponse</c> (same shape: a vector of strings).</summary>
public sealed record StringListResponse(IReadOnlyList<string?> Items) : IJuteRecord<StringListResponse>
{
    public static StringListResponse Read(ref JuteReader reader) => new(reader.ReadStringVector() ?? []);

    public void Write(JuteWriter writer) => writer.StringVector([.. Items]);
}

/// <summary><c>GetChildren2Response</c>.</summary>
public sealed record GetChildren2Response(IReadOnlyList<string?> Children, Stat Stat) : IJuteRecord<GetChildren2Response>
{
    public static GetChildren2Response Read(ref JuteReader reader) => new(reader.ReadStringVector() ?? [], Stat.Read(ref reader));

    public void Write(JuteWriter writer)
    {
        writer.StringVector([.. Children]);
        Stat.Write(writer);
    }
}

/// <summary><c>GetACLResponse</c>.</summary>
public sealed record GetAclResponse(IReadOnlyList<Acl> Acl, Stat Stat) : IJuteRecord<GetAclResponse>
{
    public static GetAclResponse Read(ref JuteReader reader) => new(Records.Acl.ReadVector(ref reader) ?? [], Stat.Read(ref reader));

    public void Write(JuteWriter writer)
    {
        Records.Acl.WriteVector(writer, Acl);
        Stat.Write(writer);
    }
}

/// <summary>An int alone: <c>GetAllChildrenNumberResponse</c> and <c>ErrorResponse</c>.</summary>
public sealed record IntResponse(int Value) : IJuteRecord<IntResponse>
{
    public static IntResponse Read(ref JuteReader reader) => new(reader.ReadInt());

    public void Write(JuteWriter writer) => writer.Int(Value);
}

/// <summary><c>WatcherEvent</c>: the body of a notification (xid -1).</summary>
public sealed record WatcherEvent(int Type, int State, string? Path) : IJuteRecord<WatcherEvent>
{
    public static WatcherEvent Read(ref JuteReader reader) => new(reader.ReadInt(), reader.ReadInt(), reader.ReadString());

    public void Write(JuteWriter writer) => writer.Int(Type).Int(State).String(Path);
}

/// <summary><c>org.apache.zookeeper.data.ClientInfo</c>: one identity a session holds (scheme <c>ip</c> with its address, <c>digest</c> with its user name).</summary>
public readonly record struct ClientInfo(string? AuthScheme, string? User)
{
    public static ClientInfo Read(ref JuteReader reader) => new(reader.ReadString(), reader.ReadString());

    public void Write(JuteWriter writer) => writer.String(AuthScheme).String(User);
}

/// <summary><c>WhoAmIResponse</c>: the identities of the session, as ZooKeeper lists them (address first, then each authentication).</summary>
public sealed record WhoAmIResponse(IReadOnlyList<ClientInfo> ClientInfo) : IJuteRecord<WhoAmIResponse>
{
    public static WhoAmIResponse Read(ref JuteReader reader)
    {
        // Each takes at least 8 bytes (two string lengths).
        var count = Math.Max(0, reader.ReadCount("vector<ClientInfo>", 8));
        var infos = new List<ClientInfo>(count);
        for (var i = 0; i < count; i++)
            infos.Add(Records.ClientInfo.Read(ref reader));
        return new(infos);
    }

    public void Write(JuteWriter writer)
    {
        writer.Int(ClientInfo.Count);
        foreach (var info in ClientInfo)
            info.Write(writer);
    }
}
