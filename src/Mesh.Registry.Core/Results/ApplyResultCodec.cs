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
    /// versions follow at the end only when one is not 0, so until ACLs are used the bytes are
    /// those the release before reads.
    /// </summary>
    public static byte[] Encode(ApplyResult result)
    {
        using var stream = new MemoryStream();
        var w = new SnapshotWriter(stream);
        Write(w, result, childIndex: true, aclVersion: false);
        var stats = result.OpResults.Select(o => o.Stat).Prepend(result.Stat).ToArray();
        if (stats.Any(s => s.AclVersion != 0))
        {
            foreach (var stat in stats)
            {
                w.Signed(stat.AclVersion);
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
            // Anything before the 4-byte checksum is the ACL versions of the stats.
            if (r.Offset < bytes.Length - 4)
            {
                result = result with
                {
                    Stat = result.Stat with { AclVersion = r.Signed() },
                    OpResults = [.. result.OpResults.Select(o => o with { Stat = o.Stat with { AclVersion = r.Signed() } })],
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

    internal static void Write(SnapshotWriter w, ApplyResult result, bool childIndex, bool aclVersion)
    {
        w.Signed(result.Index);
        w.Byte((byte)result.Error);
        w.String(result.Path ?? string.Empty);
        w.Byte(result.Path is null ? (byte)0 : (byte)1);
        WriteStat(w, result.Stat, childIndex, aclVersion);
        w.Signed(result.SessionId);
        w.Signed(result.TtlMs);
        w.Signed(result.FailedOp);
        w.Varint((ulong)result.OpResults.Count);
        foreach (var op in result.OpResults)
        {
            w.Byte((byte)op.Error);
            w.String(op.Path);
            WriteStat(w, op.Stat, childIndex, aclVersion);
        }

        w.Varint((ulong)result.ExpiredSessions.Count);
        foreach (var id in result.ExpiredSessions)
        {
            w.Signed(id);
        }
    }

    internal static ApplyResult Read(SnapshotReader r, bool childIndex, bool aclVersion)
    {
        var index = r.Signed();
        var error = (ErrorCode)r.Byte();
        var path = r.String(int.MaxValue);
        var hasPath = r.Byte() != 0;
        var stat = ReadStat(r, childIndex, aclVersion);
        var sessionId = r.Signed();
        var ttl = r.Signed();
        var failedOp = (int)r.Signed();
        var ops = new OpResult[r.Count(1 << 20, "transaction op count")];
        for (var i = 0; i < ops.Length; i++)
        {
            ops[i] = new OpResult((ErrorCode)r.Byte(), r.String(int.MaxValue), ReadStat(r, childIndex, aclVersion));
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

    private static void WriteStat(SnapshotWriter w, NodeStat s, bool childIndex, bool aclVersion)
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
    }

    private static NodeStat ReadStat(SnapshotReader r, bool childIndex, bool aclVersion) =>
        new(r.Signed(), r.Signed(), r.Signed(), r.Signed(), r.Signed(), r.Signed(), r.Signed(), (int)r.Signed(), (int)r.Signed(), childIndex ? r.Signed() : 0, aclVersion ? r.Signed() : 0);
}
