using Mesh.Registry.Core.Snapshots;

namespace Mesh.Registry.Core.Results;

/// <summary>
/// The one binary form of an <see cref="ApplyResult"/>: inside snapshots (the idempotency table
/// keeps the results it replays) and, through <see cref="Encode"/>/<see cref="Decode"/>, wherever
/// one node hands another a result (a ZooKeeper write forwarded to the leader). One codec, so a
/// field added to <see cref="NodeStat"/> reaches both or neither.
/// </summary>
public static class ApplyResultCodec
{
    /// <summary>
    /// The result with every field, its stats and per-op results included, and a checksum. ACL
    /// versions follow at the end only when one is not 0 or a stat is of a container or TTL node,
    /// and then the kind and TTL of each stat only in the second case, so until those are used the
    /// bytes are those the release before reads.
    /// </summary>
    public static byte[] Encode(ApplyResult result)
    {
        using var stream = new MemoryStream();
        var w = new SnapshotWriter(stream);
        Write(w, result, childIndex: true, aclVersion: false);
        var stats = result.OpResults.Select(o => o.Stat).Prepend(result.Stat).ToArray();
        var kinds = stats.Any(s => s.Kind != Tree.NodeKind.Plain || s.TtlMs != 0);
        if (kinds || stats.Any(s => s.AclVersion != 0))
        {
            foreach (var stat in stats)
            {
                w.Signed(stat.AclVersion);
            }
        }

        if (kinds)
        {
            foreach (var stat in stats)
            {
                WriteKind(w, stat);
            }
        }

        w.Finish([]);
        return stream.ToArray();
    }

    /// <summary>Throws <see cref="FormatException"/> for bytes <see cref="Encode"/> did not make (truncated, altered, or another build's).</summary>
    public static ApplyResult Decode(byte[] bytes)
    {
        try
        {
            var r = new SnapshotReader(new MemoryStream(bytes, writable: false));
            var result = Read(r, childIndex: true, aclVersion: false);
            // Anything before the 4-byte checksum is the ACL versions of the stats, then their kinds.
            if (r.Offset < bytes.Length - 4)
            {
                result = result with
                {
                    Stat = result.Stat with { AclVersion = r.Signed() },
                    OpResults = [.. result.OpResults.Select(o => o with { Stat = o.Stat with { AclVersion = r.Signed() } })],
                };
            }

            if (r.Offset < bytes.Length - 4)
            {
                result = result with
                {
                    Stat = ReadKind(r, result.Stat),
                    OpResults = [.. result.OpResults.Select(o => o with { Stat = ReadKind(r, o.Stat) })],
                };
            }

            r.VerifyChecksum();
            if (!r.AtEndOfStream())
                throw new FormatException("bytes after the result");
            return result;
        }
        catch (SnapshotFormatException e)
        {
            throw new FormatException("not an encoded result: " + e.Message, e);
        }
    }

    internal static void Write(SnapshotWriter w, ApplyResult result, bool childIndex, bool aclVersion, bool kind = false)
    {
        w.Signed(result.Index);
        w.Byte((byte)result.Error);
        w.String(result.Path ?? string.Empty);
        w.Byte(result.Path is null ? (byte)0 : (byte)1);
        WriteStat(w, result.Stat, childIndex, aclVersion, kind);
        w.Signed(result.SessionId);
        w.Signed(result.TtlMs);
        w.Signed(result.FailedOp);
        w.Varint((ulong)result.OpResults.Count);
        foreach (var op in result.OpResults)
        {
            w.Byte((byte)op.Error);
            w.String(op.Path);
            WriteStat(w, op.Stat, childIndex, aclVersion, kind);
        }

        w.Varint((ulong)result.ExpiredSessions.Count);
        foreach (var id in result.ExpiredSessions)
        {
            w.Signed(id);
        }
    }

    internal static ApplyResult Read(SnapshotReader r, bool childIndex, bool aclVersion, bool kind = false)
    {
        var index = r.Signed();
        var error = (ErrorCode)r.Byte();
        var path = r.String(int.MaxValue);
        var hasPath = r.Byte() != 0;
        var stat = ReadStat(r, childIndex, aclVersion, kind);
        var sessionId = r.Signed();
        var ttl = r.Signed();
        var failedOp = (int)r.Signed();
        var ops = new OpResult[r.Count(1 << 20, "transaction op count")];
        for (var i = 0; i < ops.Length; i++)
        {
            ops[i] = new OpResult((ErrorCode)r.Byte(), r.String(int.MaxValue), ReadStat(r, childIndex, aclVersion, kind));
        }

        var expired = new long[r.Count(1 << 20, "expired session count")];
        for (var i = 0; i < expired.Length; i++)
        {
            expired[i] = r.Signed();
        }

        return new ApplyResult
        {
            Index = index,
            Error = error,
            Path = hasPath ? path : null,
            Stat = stat,
            SessionId = sessionId,
            TtlMs = ttl,
            FailedOp = failedOp,
            OpResults = ops,
            ExpiredSessions = expired,
        };
    }

    private static void WriteStat(SnapshotWriter w, NodeStat s, bool childIndex, bool aclVersion, bool kind)
    {
        w.Signed(s.Version);
        w.Signed(s.ChildVersion);
        w.Signed(s.CreatedIndex);
        w.Signed(s.ModifiedIndex);
        w.Signed(s.CreatedTime);
        w.Signed(s.ModifiedTime);
        w.Signed(s.EphemeralOwner);
        w.Signed(s.DataLength);
        w.Signed(s.NumChildren);
        if (childIndex)
        {
            w.Signed(s.ChildModifiedIndex);
        }

        if (aclVersion)
        {
            w.Signed(s.AclVersion);
        }

        if (kind)
        {
            WriteKind(w, s);
        }
    }

    private static NodeStat ReadStat(SnapshotReader r, bool childIndex, bool aclVersion, bool kind)
    {
        var stat = new NodeStat(r.Signed(), r.Signed(), r.Signed(), r.Signed(), r.Signed(), r.Signed(), r.Signed(), (int)r.Signed(), (int)r.Signed(), childIndex ? r.Signed() : 0, aclVersion ? r.Signed() : 0);
        return kind ? ReadKind(r, stat) : stat;
    }

    private static void WriteKind(SnapshotWriter w, NodeStat s)
    {
        w.Byte((byte)s.Kind);
        w.Signed(s.TtlMs);
    }

    private static NodeStat ReadKind(SnapshotReader r, NodeStat stat)
    {
        var kind = r.Byte();
        if (kind > (byte)Tree.NodeKind.Ttl)
        {
            throw r.Corrupt($"unknown node kind {kind} at byte {r.Offset - 1}");
        }

        return stat with { Kind = (Tree.NodeKind)kind, TtlMs = r.Signed() };
    }
}
