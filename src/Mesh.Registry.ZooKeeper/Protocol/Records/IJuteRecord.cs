using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary>Something that writes itself in jute's encoding: a record, or a composite body such as a multi reply.</summary>
public interface IJuteWritable
{
    void Write(JuteWriter writer);
}

/// <summary>One record of <c>zookeeper.jute</c>: read from a frame, written to a frame, fields in the jute file's order.</summary>
public interface IJuteRecord<TSelf> : IJuteWritable
    where TSelf : IJuteRecord<TSelf>
{
    static abstract TSelf Read(ref JuteReader reader);
}
