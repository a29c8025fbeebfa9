using System.Text;
using System.Text.Json;
using Mesh.Registry.Contracts;
using Mesh.Registry.Watches;

namespace Mesh.Registry.Client.Tests.Watches;

/// <summary>The client's parser of a watch stream's lines, against the lines the server writes and what the serializer made of them.</summary>
public sealed class WatchRecordReaderTests
{
    private static readonly WatchStreamRecord[] Records =
    [
        new(WatchStreamRecord.Progress, 41),
        new(ChangeEvent.Created, 42, "/services/catalog/instances/a", Data: Encoding.UTF8.GetBytes("{\"address\":\"10.0.0.1\",\"port\":8080}"), Version: 0),
        new(ChangeEvent.DataChanged, 43, "/config/routes/web", Data: new byte[] { 0, 1, 2, 255 }, Version: 7),
        new(ChangeEvent.Deleted, 44, "/services/catalog/instances/a"),
        new(ChangeEvent.ChildrenChanged, 44, "/services/catalog/instances"),
        new(ChangeEvent.Created, 45, "/dubbo/catalog/3f2a", ServicePath: "/services/catalog"),
        new(ChangeEvent.Created, 46, "/tree/\"quoted\"\\and ünïcode"),
        new(WatchStreamRecord.TrustBundle, 47),
        new(WatchStreamRecord.Resume, 48, Message: "this registry node is stopping; reconnect with after=48"),
    ];

    [Fact]
    public async Task ReadAsync_TheServersLines_GivesWhatTheSerializerGave_EvenOneByteAtATime()
    {
        var lines = Records.Select(WatchRecords.Line).ToList();
        var bytes = lines.SelectMany(l => l).ToArray();

        var whole = await ReadAllAsync(new MemoryStream(bytes));
        var trickled = await ReadAllAsync(new TrickleStream(bytes));

        var expected = lines.Select(l => JsonSerializer.Deserialize(l.AsSpan()[..^1], RegistryJson.Default.WatchStreamRecord)!).ToList();
        Assert.Equal(expected.Select(Show), whole.Select(Show));
        Assert.Equal(expected.Select(Show), trickled.Select(Show));
        Assert.Equal(Records.Select(Show), whole.Select(Show));
    }

    [Fact]
    public async Task ReadAsync_OtherCaseNamesBlankLinesAndALastLineWithoutNewline_ReadAsATextReaderWould()
    {
        var text = "{\"Type\":\"created\",\"INDEX\":5,\"path\":\"/a\",\"extra\":{\"nested\":[1,2]}}\r\n\n   \n{\"type\":\"progress\",\"index\":6}";

        var records = await ReadAllAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)));

        Assert.Equal([Show(new(ChangeEvent.Created, 5, "/a")), Show(new(WatchStreamRecord.Progress, 6))], records.Select(Show));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"type\":\"created\",\"index\":\"5\"}")]
    [InlineData("{\"type\":\"created\"}")]
    [InlineData("{\"index\":5}")]
    [InlineData("{\"type\":\"created\",\"index\":5,\"path\":7}")]
    [InlineData("{\"type\":\"created\",\"index\":5,\"data\":\"not base64!\"}")]
    [InlineData("{\"type\":\"created\",\"index\":5")]
    public async Task ReadAsync_ALineThatIsNotARecord_ThrowsJsonException(string line)
    {
        var reader = new WatchRecordReader(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")));

        await Assert.ThrowsAnyAsync<JsonException>(async () => await reader.ReadAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ReadAsync_ALineLongerThanAnyRecord_ThrowsIOException_WithoutHoldingMore()
    {
        var reader = new WatchRecordReader(new EndlessStream());

        var e = await Assert.ThrowsAsync<IOException>(async () => await reader.ReadAsync(CancellationToken.None));
        Assert.Contains($"longer than {WatchRecordReader.MaxLineBytes} bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_TheSamePathAgain_IsTheSameString()
    {
        var line = WatchRecords.Line(new WatchStreamRecord(ChangeEvent.DataChanged, 1, "/config/routes/web"));
        var reader = new WatchRecordReader(new MemoryStream([.. line, .. line]));

        var first = await reader.ReadAsync(CancellationToken.None);
        var second = await reader.ReadAsync(CancellationToken.None);

        Assert.Same(first!.Path, second!.Path);
    }

    [Fact]
    public void TryRead_ARecordWithoutData_AllocatesTheRecordOnly()
    {
        const int Lines = 1_000;
        var line = WatchRecords.Line(new WatchStreamRecord(ChangeEvent.ChildrenChanged, 123_456, "/services/catalog/instances"));
        var reader = new WatchRecordReader(Stream.Null);
        Assert.Equal(ChangeEvent.ChildrenChanged, reader.Parse(line.AsSpan()[..^1]).Type); // warms the path cache and the code

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Lines; i++)
            _ = reader.Parse(line.AsSpan()[..^1]);
        var perRecord = (GC.GetAllocatedBytesForCurrentThread() - before) / Lines;

        // WatchStreamRecord: 7 fields and a header, no strings (the serializer allocated the line, the type and the path too).
        Assert.InRange(perRecord, 1, 120);
    }

    private static async Task<List<WatchStreamRecord>> ReadAllAsync(Stream stream)
    {
        var reader = new WatchRecordReader(stream);
        var records = new List<WatchStreamRecord>();
        while ((reader.TryRead(out var buffered) ? buffered : await reader.ReadAsync(CancellationToken.None)) is { } record)
            records.Add(record);
        return records;
    }

    // Records compare their data by reference: show it as text.
    private static string Show(WatchStreamRecord r) =>
        $"{r.Type} {r.Index} {r.Path} {r.Message} {r.ServicePath} {(r.Data is { } d ? Convert.ToHexString(d.Span) : "-")} {r.Version}";

    /// <summary>Gives one byte per read, as a stream whose records arrive across many packets.</summary>
    private sealed class TrickleStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }

    /// <summary>A line that never ends.</summary>
    private sealed class EndlessStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            buffer.AsSpan(offset, count).Fill((byte)'x');
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
