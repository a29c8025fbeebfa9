using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary><c>org.apache.zookeeper.data.Stat</c>: zxids are registry log indexes, times Unix milliseconds.</summary>
public readonly record struct Stat(
    long Czxid,
    long Mzxid,
    long Ctime,
    long Mtime,
    int Version,
    int Cversion,
    int Aversion,
    long EphemeralOwner,
    int DataLength,
    int NumChildren,
    long Pzxid) : IJuteRecord<Stat>
{
    public const int Size = 68;

    public static Stat Read(ref JuteReader reader) => new(
        reader.ReadLong(), reader.ReadLong(), reader.ReadLong(), reader.ReadLong(),
        reader.ReadInt(), reader.ReadInt(), reader.ReadInt(), reader.ReadLong(),
        reader.ReadInt(), reader.ReadInt(), reader.ReadLong());

    public void Write(JuteWriter writer) => writer
        .Long(Czxid).Long(Mzxid).Long(Ctime).Long(Mtime)
        .Int(Version).Int(Cversion).Int(Aversion).Long(EphemeralOwner)
        .Int(DataLength).Int(NumChildren).Long(Pzxid);
}
