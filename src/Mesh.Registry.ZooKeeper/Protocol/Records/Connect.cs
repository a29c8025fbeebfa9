using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary>
/// The first packet of a connection (no request header). <see cref="ReadOnly"/> is missing from
/// clients older than 3.4; it reads as false then.
/// </summary>
public readonly record struct ConnectRequest(
    int ProtocolVersion, long LastZxidSeen, int TimeOut, long SessionId, byte[]? Passwd, bool ReadOnly) : IJuteRecord<ConnectRequest>
{
    public static ConnectRequest Read(ref JuteReader reader)
    {
        var version = reader.ReadInt();
        var lastZxid = reader.ReadLong();
        var timeout = reader.ReadInt();
        var session = reader.ReadLong();
        var passwd = reader.ReadBuffer();
        var readOnly = !reader.AtEnd && reader.ReadBool();
        return new ConnectRequest(version, lastZxid, timeout, session, passwd, readOnly);
    }

    public void Write(JuteWriter writer) =>
        writer.Int(ProtocolVersion).Long(LastZxidSeen).Int(TimeOut).Long(SessionId).Buffer(Passwd).Bool(ReadOnly);
}

/// <summary>The answer to <see cref="ConnectRequest"/>; a timeout ≤ 0 tells the client its session expired.</summary>
public readonly record struct ConnectResponse(int ProtocolVersion, int TimeOut, long SessionId, byte[]? Passwd, bool ReadOnly) : IJuteRecord<ConnectResponse>
{
    public static ConnectResponse Read(ref JuteReader reader)
    {
        var version = reader.ReadInt();
        var timeout = reader.ReadInt();
        var session = reader.ReadLong();
        var passwd = reader.ReadBuffer();
        var readOnly = !reader.AtEnd && reader.ReadBool();
        return new ConnectResponse(version, timeout, session, passwd, readOnly);
    }

    public void Write(JuteWriter writer) => writer.Int(ProtocolVersion).Int(TimeOut).Long(SessionId).Buffer(Passwd).Bool(ReadOnly);
}

/// <summary><c>AuthPacket</c>: sent with xid -4.</summary>
public readonly record struct AuthPacket(int Type, string? Scheme, byte[]? Auth) : IJuteRecord<AuthPacket>
{
    public static AuthPacket Read(ref JuteReader reader) => new(reader.ReadInt(), reader.ReadString(), reader.ReadBuffer());

    public void Write(JuteWriter writer) => writer.Int(Type).String(Scheme).Buffer(Auth);
}
