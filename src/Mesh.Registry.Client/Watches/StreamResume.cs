using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// Where a streaming watch resumes: the last index whose records were all delivered, and how
/// many records of the index after it were (a stream can break between two records of one
/// command; every node sends an index's records in the same order, so those are skipped).
/// </summary>
internal sealed class StreamResume(long after)
{
    private long _partialIndex = -1;
    private int _partialCount;
    private long _skipIndex = -1;
    private int _skip;

    public long Complete { get; private set; } = after;

    public void Reconnected()
    {
        (_skipIndex, _skip) = _partialIndex > Complete ? (_partialIndex, _partialCount) : (-1, 0);
        _partialIndex = -1;
        _partialCount = 0;
    }

    /// <summary>The server says every record up to <paramref name="index"/> was sent.</summary>
    public void Sent(long index) => Complete = Math.Max(Complete, index);

    /// <summary>Notes a record; false when it was delivered before (or is older than where the stream resumed).</summary>
    public bool Take(WatchStreamRecord record)
    {
        if (record.Type == WatchStreamRecord.Progress)
        {
            Sent(record.Index);
            return record.Index >= Complete;
        }
        if (record.Index <= Complete)
            return false;
        // A record of a later index: every record before it was sent.
        Complete = Math.Max(Complete, record.Index - 1);
        if (record.Index != _partialIndex)
        {
            _partialIndex = record.Index;
            _partialCount = 0;
        }
        _partialCount++;
        if (record.Index == _skipIndex && _skip > 0)
        {
            _skip--;
            return false;
        }
        return true;
    }
}
