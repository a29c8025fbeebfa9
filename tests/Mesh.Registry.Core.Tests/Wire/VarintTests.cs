using System.Buffers;
using Mesh.Registry.Core.Wire;

namespace Mesh.Registry.Core.Tests.Wire;

public sealed class VarintTests
{
    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "8001")]
    [InlineData(300UL, "ac02")]
    [InlineData(16_383UL, "ff7f")]
    [InlineData(16_384UL, "808001")]
    [InlineData(ulong.MaxValue, "ffffffffffffffffff01")]
    public void WriteThenRead_IsProtobufsEncoding_AndRoundTrips(ulong value, string hex)
    {
        var buffer = new byte[Varint.MaxLength];

        var written = Varint.Write(buffer, value);

        Assert.Equal(hex, Convert.ToHexStringLower(buffer.AsSpan(0, written)));
        Assert.Equal(OperationStatus.Done, Varint.TryRead(buffer.AsSpan(0, written), out var read, out var length));
        Assert.Equal(value, read);
        Assert.Equal(written, length);
    }

    [Fact]
    public void TryRead_StopsAtTheFirstByteWithoutTheHighBit() =>
        Assert.Equal((OperationStatus.Done, 300UL, 2), Read("ac0299"));

    [Theory]
    [InlineData("")]
    [InlineData("80")]
    [InlineData("ffffffff")]
    public void TryRead_SourceEndsInside_NeedsMoreData(string hex) =>
        Assert.Equal(OperationStatus.NeedMoreData, Read(hex).Status);

    [Theory]
    [InlineData("ffffffffffffffffff02")] // the 10th byte carries more than the 64th bit
    [InlineData("ffffffffffffffffff8101")] // 11 bytes
    public void TryRead_LongerThan64Bits_IsInvalid(string hex) =>
        Assert.Equal(OperationStatus.InvalidData, Read(hex).Status);

    [Theory]
    [InlineData(0L, 0UL)]
    [InlineData(-1L, 1UL)]
    [InlineData(1L, 2UL)]
    [InlineData(-2L, 3UL)]
    [InlineData(long.MaxValue, ulong.MaxValue - 1)]
    [InlineData(long.MinValue, ulong.MaxValue)]
    public void ZigZag_MapsSmallMagnitudesToSmallNumbers_AndBack(long value, ulong zigzag)
    {
        Assert.Equal(zigzag, Varint.ZigZag(value));
        Assert.Equal(value, Varint.UnZigZag(zigzag));
    }

    private static (OperationStatus Status, ulong Value, int Length) Read(string hex)
    {
        var status = Varint.TryRead(Convert.FromHexString(hex), out var value, out var length);
        return (status, value, length);
    }
}
