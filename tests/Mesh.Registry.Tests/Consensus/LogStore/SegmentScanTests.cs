using Mesh.Registry.Consensus.LogStore;

namespace Mesh.Registry.Tests.Consensus.LogStore;

public sealed class SegmentScanTests
{
    private static (byte[] Segment, List<long> Offsets) Build(long firstIndex, params long[] terms)
    {
        var segment = new byte[4096];
        var offsets = new List<long>();
        var offset = 0;
        for (var i = 0; i < terms.Length; i++)
        {
            offsets.Add(offset);
            var payload = new byte[10 + i];
            EntryFrame.Write(segment.AsSpan(offset), firstIndex + i, terms[i], EntryFlags.None, payload);
            offset += EntryFrame.SizeOf(payload.Length);
        }
        return (segment, offsets);
    }

    [Fact]
    public void Scan_CleanSegment_ReturnsEveryEntryAndEndsAtTheZeros()
    {
        var (segment, offsets) = Build(5, 1, 1, 2);

        var result = SegmentScan.Scan(segment, 5, 0);

        Assert.False(result.Damaged);
        Assert.Equal([5L, 6, 7], result.Entries.Select(e => e.Index));
        Assert.Equal([1L, 1, 2], result.Entries.Select(e => e.Term));
        Assert.Equal(offsets, result.Entries.Select(e => e.Offset));
        Assert.Equal(result.Entries[^1].End, result.ValidEnd);
    }

    [Fact]
    public void Scan_TornLastEntry_StopsBeforeItAndSaysDamaged()
    {
        var (segment, offsets) = Build(1, 1, 1, 1);
        // The last frame's payload was only partly written when the machine stopped.
        segment[(int)offsets[2] + EntryFrame.HeaderSize + 3] ^= 0xFF;

        var result = SegmentScan.Scan(segment, 1, 0);

        Assert.True(result.Damaged);
        Assert.Equal([1L, 2], result.Entries.Select(e => e.Index));
        Assert.Equal(offsets[2], result.ValidEnd);
    }

    [Fact]
    public void Scan_IndexOutOfOrder_StopsThere()
    {
        var (segment, _) = Build(1, 1, 1);

        var result = SegmentScan.Scan(segment, 2, 0);

        Assert.True(result.Damaged);
        Assert.Empty(result.Entries);
    }

    [Fact]
    public void Scan_TermGoingBack_StopsThere()
    {
        var (segment, _) = Build(1, 3, 2);

        var result = SegmentScan.Scan(segment, 1, 0);

        Assert.True(result.Damaged);
        Assert.Single(result.Entries);
    }

    [Fact]
    public void Scan_EmptySegment_HasNoEntries()
    {
        var result = SegmentScan.Scan(new byte[1024], 9, 4);

        Assert.False(result.Damaged);
        Assert.Empty(result.Entries);
        Assert.Equal(0, result.ValidEnd);
    }
}
