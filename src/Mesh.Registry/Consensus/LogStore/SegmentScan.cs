namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// The recovery scan of one segment's bytes: every intact entry from the start, in index order,
/// up to the first frame that is zeros (the clean end), damaged (a torn tail), out of order or
/// from an older term than its predecessor. Pure: the caller reads the file and decides what a
/// damaged frame means (a torn tail is cut; a damaged entry the node already committed is not).
/// </summary>
internal static class SegmentScan
{
    public static SegmentScanResult Scan(ReadOnlySpan<byte> segment, long firstIndex, long previousTerm)
    {
        var entries = new List<EntryLocation>();
        var offset = 0;
        var expected = firstIndex;
        var term = previousTerm;
        while (true)
        {
            var status = EntryFrame.TryRead(segment[offset..], out var header);
            if (status == FrameStatus.End)
                return new(entries, offset, Damaged: false);
            if (status == FrameStatus.Corrupt || header.Index != expected || header.Term < term)
                return new(entries, offset, Damaged: true);
            entries.Add(new EntryLocation(header.Index, header.Term, header.Flags, offset, header.PayloadLength));
            offset += header.FrameSize;
            expected++;
            term = header.Term;
        }
    }
}

/// <summary>Where an entry's frame starts in its segment, and what the header says.</summary>
internal readonly record struct EntryLocation(long Index, long Term, EntryFlags Flags, long Offset, int PayloadLength)
{
    public long PayloadOffset => Offset + EntryFrame.HeaderSize;

    public long End => Offset + EntryFrame.SizeOf(PayloadLength);
}

/// <param name="Entries">The intact entries, in order.</param>
/// <param name="ValidEnd">Where the next frame goes (the end of the last intact one).</param>
/// <param name="Damaged">Whether the scan stopped at bytes that are not zeros (a torn write or damage) rather than at the clean end.</param>
internal sealed record SegmentScanResult(IReadOnlyList<EntryLocation> Entries, long ValidEnd, bool Damaged);
