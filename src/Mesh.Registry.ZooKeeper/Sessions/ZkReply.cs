using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// A packet for the client: a reply header (xid, the zxid the answer reflects, error) and, on
/// success, a body. An error reply has no body, as in ZooKeeper.
/// </summary>
public sealed record ZkReply(int Xid, long Zxid, ZkError Error, IJuteWritable? Body = null)
{
    public static ZkReply Fail(int xid, long zxid, ZkError error) => new(xid, zxid, error);

    /// <summary>The length-prefixed frame.</summary>
    public byte[] ToFrame()
    {
        var writer = new JuteWriter();
        new ReplyHeader(Xid, Zxid, (int)Error).Write(writer);
        if (Error == ZkError.Ok || Body is MultiResponse)
            Body?.Write(writer);
        return writer.ToFrame();
    }

    /// <summary>A watch notification: xid -1, the zxid of the change, a <see cref="WatcherEvent"/>.</summary>
    public static ZkReply Notification(long zxid, WatcherEventType type, string path) =>
        new(Xids.Notification, zxid, ZkError.Ok, new WatcherEvent((int)type, (int)KeeperState.SyncConnected, path));
}
