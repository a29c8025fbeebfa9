using System.Text;
using Mesh.Registry.Consensus.LogStore;

namespace Mesh.Registry.Tests.Consensus.LogStore;

public sealed class EntryFrameTests
{
    [Fact]
    public void TryRead_WrittenFrame_ReturnsItsHeader()
    {
        var payload = Encoding.UTF8.GetBytes("hello");
        var frame = new byte[EntryFrame.SizeOf(payload.Length) + 10];
        EntryFrame.Write(frame, 7, 3, EntryFlags.Configuration, payload);

        Assert.Equal(FrameStatus.Valid, EntryFrame.TryRead(frame, out var header));
        Assert.Equal(new FrameHeader(7, 3, EntryFlags.Configuration, 5), header);
    }

    [Fact]
    public void TryRead_Zeros_IsTheEnd()
    {
        Assert.Equal(FrameStatus.End, EntryFrame.TryRead(new byte[100], out _));
        Assert.Equal(FrameStatus.End, EntryFrame.TryRead(new byte[3], out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(12)]
    [InlineData(20)]
    [InlineData(33)]
    public void TryRead_AnyFlippedByte_IsCorrupt(int position)
    {
        var frame = new byte[EntryFrame.SizeOf(4)];
        EntryFrame.Write(frame, 1, 1, EntryFlags.None, [1, 2, 3, 4]);
        frame[position] ^= 0x40;

        Assert.Equal(FrameStatus.Corrupt, EntryFrame.TryRead(frame, out _));
    }

    [Fact]
    public void TryRead_PayloadCutShort_IsCorrupt()
    {
        var frame = new byte[EntryFrame.SizeOf(100)];
        EntryFrame.Write(frame, 1, 1, EntryFlags.None, new byte[100]);

        Assert.Equal(FrameStatus.Corrupt, EntryFrame.TryRead(frame.AsSpan(0, frame.Length - 1), out _));
    }
}
