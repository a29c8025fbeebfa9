using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary>Starts every packet after the connect handshake.</summary>
public readonly record struct RequestHeader(int Xid, int Type) : IJuteRecord<RequestHeader>
{
    public static RequestHeader Read(ref JuteReader reader) => new(reader.ReadInt(), reader.ReadInt());

    public void Write(JuteWriter writer) => writer.Int(Xid).Int(Type);
}

/// <summary>Starts every server packet after the handshake: the request's xid (or a reserved one), the zxid the reply reflects, the error.</summary>
public readonly record struct ReplyHeader(int Xid, long Zxid, int Err) : IJuteRecord<ReplyHeader>
{
    public static ReplyHeader Read(ref JuteReader reader) => new(reader.ReadInt(), reader.ReadLong(), reader.ReadInt());

    public void Write(JuteWriter writer) => writer.Int(Xid).Long(Zxid).Int(Err);
}

/// <summary>Precedes each op of a multi request and each result of its reply; <c>(-1, true, -1)</c> ends the list.</summary>
public readonly record struct MultiHeader(int Type, bool Done, int Err) : IJuteRecord<MultiHeader>
{
    public static MultiHeader End => new(-1, true, -1);

    public static MultiHeader Read(ref JuteReader reader) => new(reader.ReadInt(), reader.ReadBool(), reader.ReadInt());

    public void Write(JuteWriter writer) => writer.Int(Type).Bool(Done).Int(Err);
}
