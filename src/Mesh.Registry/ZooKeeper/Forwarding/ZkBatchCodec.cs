using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Results;

namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// Several writes of one follower session forwarded in one request (<see cref="ZkLeaderEndpoints.BatchWritePath"/>):
/// the encoded commands in request order, and the leader's outcome for each in the same order —
/// a result (<see cref="ZkResultCodec"/>), "not proposed", or "outcome unknown".
/// </summary>
internal static class ZkBatchCodec
{
    private const byte Version = 1;

    /// <summary>Bytes of an encoded batch before its items: the version and the count.</summary>
    public const int HeaderBytes = 1 + 4;

    /// <summary>Bytes one item of <paramref name="length"/> takes in an encoded batch: its kind, its length, itself.</summary>
    public static int ItemBytes(int length) => 1 + 4 + length;

    public enum Outcome : byte
    {
        Applied = 0,
        NotProposed = 1,
        Unknown = 2,
    }

    public static byte[] EncodeCommands(IReadOnlyList<byte[]> commands) => Encode(commands.Select(c => ((byte)0, c)));

    /// <summary>Throws <see cref="FormatException"/> for a body this build did not write.</summary>
    public static IReadOnlyList<byte[]> DecodeCommands(byte[] body, int maxCount) =>
        [.. Decode(body, maxCount).Select(x => x.Bytes)];

    public static byte[] EncodeOutcomes(IReadOnlyList<(Outcome Outcome, byte[] Bytes)> outcomes) => Encode(outcomes.Select(o => ((byte)o.Outcome, o.Bytes)));

    /// <summary>
    /// The results of the leading writes that were applied, and the failure of the first that was
    /// not (null when all were). Throws <see cref="FormatException"/> for an answer this build did not write.
    /// </summary>
    public static (IReadOnlyList<ApplyResult> Applied, Exception? Failure) DecodeOutcomes(byte[] body, int count)
    {
        var items = Decode(body, count);
        if (items.Count != count)
            throw new FormatException($"the leader answered {items.Count} outcomes for {count} forwarded writes");
        var applied = new List<ApplyResult>(count);
        foreach (var (kind, bytes) in items)
        {
            switch ((Outcome)kind)
            {
                case Outcome.Applied:
                    applied.Add(ZkResultCodec.Decode(bytes));
                    continue;
                case Outcome.NotProposed:
                    return (applied, new NotLeaderException(null));
                case Outcome.Unknown:
                    return (applied, new OutcomeUnknownException("forwarded write: " + System.Text.Encoding.UTF8.GetString(bytes)));
                default:
                    throw new FormatException($"unknown outcome {kind}");
            }
        }
        return (applied, null);
    }

    private static byte[] Encode(IEnumerable<(byte Kind, byte[] Bytes)> items)
    {
        var list = items.ToList();
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(Version);
            w.Write(list.Count);
            foreach (var (kind, bytes) in list)
            {
                w.Write(kind);
                w.Write(bytes.Length);
                w.Write(bytes);
            }
        }
        return stream.ToArray();
    }

    private static List<(byte Kind, byte[] Bytes)> Decode(byte[] body, int maxCount)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(body));
            if (r.ReadByte() != Version)
                throw new FormatException("unknown forwarded batch version");
            var count = r.ReadInt32();
            if (count < 1 || count > maxCount)
                throw new FormatException($"a forwarded batch holds 1 .. {maxCount} items, not {count}");
            var items = new List<(byte, byte[])>(count);
            for (var i = 0; i < count; i++)
            {
                var kind = r.ReadByte();
                var length = r.ReadInt32();
                if (length < 0 || length > body.Length)
                    throw new FormatException("bad item length in a forwarded batch");
                var bytes = r.ReadBytes(length);
                if (bytes.Length != length)
                    throw new FormatException("truncated forwarded batch");
                items.Add((kind, bytes));
            }
            if (r.BaseStream.Position != body.Length)
                throw new FormatException("bytes after a forwarded batch");
            return items;
        }
        catch (EndOfStreamException e)
        {
            throw new FormatException("truncated forwarded batch", e);
        }
    }
}
