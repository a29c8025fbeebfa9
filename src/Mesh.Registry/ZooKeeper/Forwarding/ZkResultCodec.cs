using Mesh.Registry.Core.Results;

namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// The leader's <see cref="ApplyResult"/> for a write a follower forwarded, as bytes: what a ZooKeeper
/// reply is built from (index, error, path, stat, session, per-op results). Events are not sent:
/// the follower sees them when it applies the entry itself.
/// </summary>
internal static class ZkResultCodec
{
    private const byte Version = 2; // 2: the stat carries pzxid (ChildModifiedIndex)

    public static byte[] Encode(ApplyResult result)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(Version);
            w.Write(result.Index);
            w.Write((int)result.Error);
            w.Write(result.Path is not null);
            if (result.Path is not null)
                w.Write(result.Path);
            Write(w, result.Stat);
            w.Write(result.SessionId);
            w.Write(result.TtlMs);
            w.Write(result.FailedOp);
            w.Write(result.OpResults.Count);
            foreach (var op in result.OpResults)
            {
                w.Write((int)op.Error);
                w.Write(op.Path ?? "");
                Write(w, op.Stat);
            }
        }
        return stream.ToArray();
    }

    /// <summary>Throws <see cref="FormatException"/> for bytes this build did not write.</summary>
    public static ApplyResult Decode(byte[] bytes)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            if (r.ReadByte() != Version)
                throw new FormatException("unknown forwarded result version");
            var index = r.ReadInt64();
            var error = (ErrorCode)r.ReadInt32();
            var path = r.ReadBoolean() ? r.ReadString() : null;
            var stat = ReadStat(r);
            var session = r.ReadInt64();
            var ttl = r.ReadInt64();
            var failed = r.ReadInt32();
            var count = r.ReadInt32();
            if (count < 0 || count > bytes.Length)
                throw new FormatException("bad op result count");
            var ops = new OpResult[count];
            for (var i = 0; i < count; i++)
                ops[i] = new OpResult((ErrorCode)r.ReadInt32(), r.ReadString(), ReadStat(r));
            return new ApplyResult { Index = index, Error = error, Path = path, Stat = stat, SessionId = session, TtlMs = ttl, FailedOp = failed, OpResults = ops };
        }
        catch (EndOfStreamException e)
        {
            throw new FormatException("truncated forwarded result", e);
        }
    }

    private static void Write(BinaryWriter w, NodeStat s)
    {
        w.Write(s.Version);
        w.Write(s.ChildVersion);
        w.Write(s.CreatedIndex);
        w.Write(s.ModifiedIndex);
        w.Write(s.CreatedTime);
        w.Write(s.ModifiedTime);
        w.Write(s.EphemeralOwner);
        w.Write(s.DataLength);
        w.Write(s.NumChildren);
        w.Write(s.ChildModifiedIndex);
    }

    private static NodeStat ReadStat(BinaryReader r) =>
        new(r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt64());
}
