using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// One decoded request after the handshake: its xid, its op code and its body record (null for
/// ops without a body, and for op codes this server does not decode, which are answered
/// <see cref="ZkError.Unimplemented"/>).
/// </summary>
public sealed record ZkRequest(int Xid, OpCode Op, object? Body)
{
    /// <summary>
    /// Decodes one frame (without its length prefix). Throws <see cref="JuteFormatException"/>
    /// when a known op's body is malformed or followed by extra bytes: the caller closes the connection.
    /// </summary>
    public static ZkRequest Decode(ReadOnlySpan<byte> frame)
    {
        var reader = new JuteReader(frame);
        var header = RequestHeader.Read(ref reader);
        var op = (OpCode)header.Type;
        object? body = op switch
        {
            OpCode.Create or OpCode.Create2 or OpCode.CreateContainer => CreateRequest.Read(ref reader),
            OpCode.CreateTtl => CreateTtlRequest.Read(ref reader),
            OpCode.Delete => DeleteRequest.Read(ref reader),
            OpCode.Exists or OpCode.GetData or OpCode.GetChildren or OpCode.GetChildren2 => PathWatchRequest.Read(ref reader),
            OpCode.SetData => SetDataRequest.Read(ref reader),
            OpCode.GetAcl or OpCode.Sync or OpCode.GetAllChildrenNumber or OpCode.GetEphemerals => PathRequest.Read(ref reader),
            OpCode.SetAcl => SetAclRequest.Read(ref reader),
            OpCode.Check => CheckVersionRequest.Read(ref reader),
            OpCode.Multi => MultiRequest.Read(ref reader, readOnly: false),
            OpCode.MultiRead => MultiRequest.Read(ref reader, readOnly: true),
            OpCode.SetWatches => SetWatchesRequest.Read(ref reader, version2: false),
            OpCode.SetWatches2 => SetWatchesRequest.Read(ref reader, version2: true),
            OpCode.AddWatch => AddWatchRequest.Read(ref reader),
            OpCode.RemoveWatches or OpCode.CheckWatches => RemoveWatchesRequest.Read(ref reader),
            OpCode.Auth => AuthPacket.Read(ref reader),
            OpCode.Ping or OpCode.CloseSession or OpCode.WhoAmI => null,
            // Not decoded (reconfig, SASL, deleteContainer, unknown numbers): the body is
            // skipped and the request answered Unimplemented, as ZooKeeper does for what it lacks.
            _ => Skip(ref reader),
        };
        reader.EnsureEnd($"a {op} request");
        return new ZkRequest(header.Xid, op, body);
    }

    private static object? Skip(ref JuteReader reader)
    {
        while (!reader.AtEnd)
            reader.ReadBool();
        return null;
    }
}
