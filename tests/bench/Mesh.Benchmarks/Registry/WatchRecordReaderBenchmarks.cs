using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Registry.Watches;

namespace Mesh.Benchmarks.Registry;

/// <summary>
/// The client's cost per watch stream record (every sidecar reads one stream; the scale bench reads
/// 10,000): a <c>data=true</c> stream as the server writes it, one change per write (a <c>created</c>
/// record with a 120-byte instance document, then the progress mark), read one write per socket
/// read. <see cref="TextReaderAndSerializer"/> is the reader the client had before
/// <see cref="WatchRecordReader"/> (a line string, the serializer, an idle timer per record);
/// BenchmarkDotNet reports time and allocation per record.
/// </summary>
[MemoryDiagnoser]
public class WatchRecordReaderBenchmarks
{
    private const int Changes = 500;
    private const int Records = Changes * 2;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _connection = new();
    private byte[] _bytes = [];
    private int[] _writes = [];

    [GlobalSetup]
    public void Setup()
    {
        var document = Encoding.UTF8.GetBytes("{\"address\":\"10.1.2.3\",\"port\":8080,\"weight\":100,\"version\":\"v1\",\"zone\":\"eu-1a\",\"labels\":{\"team\":\"payments\"}}");
        var bytes = new List<byte>();
        var writes = new List<int>();
        for (var i = 0; i < Changes; i++)
        {
            var index = 1_000 + i;
            bytes.AddRange(WatchRecords.Line(new WatchStreamRecord(ChangeEvent.Created, index, $"/services/shared/instances/i{i % 20}", Data: document, Version: 0)));
            bytes.AddRange(WatchRecords.Line(new WatchStreamRecord(WatchStreamRecord.Progress, index)));
            writes.Add(bytes.Count);
        }
        _bytes = [.. bytes];
        _writes = [.. writes];
    }

    [GlobalCleanup]
    public void Cleanup() => _connection.Dispose();

    /// <summary>Before: a line string per record, the serializer over it, and a linked token source with a timer per read.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public async Task<long> TextReaderAndSerializer()
    {
        var sum = 0L;
        using var reader = new StreamReader(new WriteAtATimeStream(_bytes, _writes));
        while (true)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(_connection.Token);
            idle.CancelAfter(IdleTimeout);
            var line = await reader.ReadLineAsync(idle.Token).ConfigureAwait(false);
            if (line is null)
                return sum;
            sum += JsonSerializer.Deserialize(line, RegistryJson.Default.WatchStreamRecord)!.Index;
        }
    }

    /// <summary>After: <see cref="WatchRecordReader"/> as <c>RegistryClient.StreamWatchAsync</c> drives it (the idle deadline moved only before a socket read).</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public async Task<long> RecordReader()
    {
        var sum = 0L;
        var reader = new WatchRecordReader(new WriteAtATimeStream(_bytes, _writes));
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_connection.Token);
        while (true)
        {
            if (!reader.TryRead(out var record))
            {
                idle.CancelAfter(IdleTimeout);
                record = await reader.ReadAsync(idle.Token).ConfigureAwait(false);
                idle.CancelAfter(Timeout.InfiniteTimeSpan);
            }
            if (record is null)
                return sum;
            sum += record.Index;
        }
    }

    /// <summary>Gives at most one server write per read, as a socket does when each write is its own packet.</summary>
    private sealed class WriteAtATimeStream(byte[] bytes, int[] writes) : MemoryStream(bytes, writable: false)
    {
        private int _write;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_write < writes.Length && Position == writes[_write])
                _write++;
            var end = _write < writes.Length ? writes[_write] : (int)Length;
            return base.ReadAsync(buffer[..Math.Min(buffer.Length, end - (int)Position)], cancellationToken);
        }
    }
}
