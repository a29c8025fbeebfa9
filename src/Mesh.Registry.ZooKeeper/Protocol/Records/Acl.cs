using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary><c>org.apache.zookeeper.data.Id</c>.</summary>
public readonly record struct Id(string? Scheme, string? Identity) : IJuteRecord<Id>
{
    public static Id Read(ref JuteReader reader) => new(reader.ReadString(), reader.ReadString());

    public void Write(JuteWriter writer) => writer.String(Scheme).String(Identity);
}

/// <summary><c>org.apache.zookeeper.data.ACL</c>.</summary>
public readonly record struct Acl(int Perms, Id Id) : IJuteRecord<Acl>
{
    /// <summary>READ | WRITE | CREATE | DELETE | ADMIN.</summary>
    public const int All = 31;

    /// <summary><c>ZooDefs.Ids.OPEN_ACL_UNSAFE</c>: what every node reports, as the registry keeps no per-node ACLs.</summary>
    public static IReadOnlyList<Acl> OpenUnsafe { get; } = [new Acl(All, new Id("world", "anyone"))];

    public static Acl Read(ref JuteReader reader) => new(reader.ReadInt(), Id.Read(ref reader));

    public void Write(JuteWriter writer)
    {
        writer.Int(Perms);
        Id.Write(writer);
    }

    /// <summary>A vector of ACLs; null for count -1. Each takes at least 12 bytes (perms and two string lengths).</summary>
    public static List<Acl>? ReadVector(ref JuteReader reader)
    {
        var count = reader.ReadCount("vector<ACL>", 12);
        if (count < 0)
            return null;
        var list = new List<Acl>(count);
        for (var i = 0; i < count; i++)
            list.Add(Read(ref reader));
        return list;
    }

    public static void WriteVector(JuteWriter writer, IReadOnlyList<Acl>? acls)
    {
        if (acls is null)
        {
            writer.Int(-1);
            return;
        }
        writer.Int(acls.Count);
        foreach (var acl in acls)
            acl.Write(writer);
    }
}
