using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary>One record of <c>zookeeper.jute</c>: read from a frame, written to a frame, fields in the jute file's order.</summary>
public interface IJuteRecord<TSelf>
    where TSelf : IJuteRecord<TSelf>
{
    static abstract TSelf Read(ref JuteReader reader);

    void Write(JuteWriter writer);
}
