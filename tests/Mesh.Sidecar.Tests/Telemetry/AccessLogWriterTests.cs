using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Sidecar.Tests.Telemetry;

/// <summary>
/// The access log writer batches: requests only queue their lines, and the writer wakes once per
/// flush interval (or at half a full buffer, or on stop) to write every waiting line in one call.
/// A clock that only moves when told (FakeTimeProvider) says when the interval has passed.
/// </summary>
public sealed class AccessLogWriterTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Write_LinesWaitingWhenTheIntervalPasses_AreWrittenInOneCall()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingStream();
        await using var writer = Writer(time, output);

        for (var i = 0; i < 100; i++)
            writer.Write(Entry($"/{i}"));
        time.Advance(Interval);
        await output.WaitForLinesAsync(100).WaitAsync(Bound);

        var write = Assert.Single(output.Writes);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"/{i}"), Lines(write).Select(PathOf));
    }

    [Fact]
    public async Task Write_HalfTheBufferWaiting_WakesTheWriterBeforeTheInterval()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingStream();
        await using var writer = Writer(time, output, bufferSize: 64);

        // The clock never moves: only the high-water mark can wake the writer.
        for (var i = 0; i < 32; i++)
            writer.Write(Entry($"/{i}"));

        await output.WaitForLinesAsync(32).WaitAsync(Bound);
        Assert.Equal(0, writer.Dropped);
    }

    [Fact]
    public async Task Write_ManyThreadsAndBatches_EveryLineCompleteAndInEachThreadsOrder()
    {
        const int Threads = 4, PerThread = 5_000;
        var output = new RecordingStream();
        var writer = new AccessLogWriter(
            new AccessLogConfig { Enabled = true, BufferSize = 1_000_000, FlushInterval = TimeSpan.FromMilliseconds(1) },
            TimeProvider.System, () => { }, output);

        await Task.WhenAll(Enumerable.Range(0, Threads).Select(thread => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
                writer.Write(Entry($"/{thread}/{i}"));
        }))).WaitAsync(Bound);
        await writer.DisposeAsync();

        Assert.Equal(0, writer.Dropped);
        // Every line parses on its own (Lines parses each), and each thread's lines keep its order.
        var paths = output.Writes.SelectMany(Lines).Select(PathOf).ToList();
        Assert.Equal(Threads * PerThread, paths.Count);
        for (var thread = 0; thread < Threads; thread++)
        {
            var prefix = $"/{thread}/";
            var mine = paths.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).Select(p => int.Parse(p[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(Enumerable.Range(0, PerThread), mine);
        }
    }

    [Fact]
    public async Task DisposeAsync_LinesWaiting_WritesEveryOneInOrder()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingStream();
        var writer = Writer(time, output);
        for (var i = 0; i < 1_000; i++)
            writer.Write(Entry($"/{i}"));

        // The clock never moved and the buffer is far from half full: only stopping writes them.
        await writer.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(Enumerable.Range(0, 1_000).Select(i => $"/{i}"), output.Writes.SelectMany(Lines).Select(PathOf));
        Assert.Equal(0, writer.Dropped);
    }

    [Fact]
    public async Task Write_AfterDispose_IsDroppedAndCounted()
    {
        var dropped = 0;
        var output = new RecordingStream();
        var writer = new AccessLogWriter(new AccessLogConfig { Enabled = true }, new FakeTimeProvider(), () => dropped++, output);
        await writer.DisposeAsync();

        writer.Write(Entry("/late"));

        Assert.Equal(1, dropped);
        Assert.Equal(1, writer.Dropped);
        Assert.Empty(output.Writes);
    }

    [Fact]
    public async Task Write_BlockedOutput_DropsAndCountsInsteadOfWaiting()
    {
        var dropped = 0;
        var time = new FakeTimeProvider();
        var output = new BlockingStream();
        var writer = new AccessLogWriter(new AccessLogConfig { Enabled = true, BufferSize = 16, FlushInterval = Interval }, time, () => Interlocked.Increment(ref dropped), output);
        // One line first, and wait until the writer is stuck writing it: from then on nothing
        // leaves the queue, whatever the scheduling.
        writer.Write(Entry("/first"));
        time.Advance(Interval);
        await output.Entered.WaitAsync(Bound);

        // Write never waits: a writer that did would never finish here (the bound only keeps a
        // broken writer from hanging the test run).
        await Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++)
                writer.Write(Entry($"/{i}"));
        }).WaitAsync(Bound);
        // 16 wait in the queue; every other line is dropped and counted.
        Assert.Equal(1000 - 16, dropped);
        Assert.Equal(dropped, writer.Dropped);
        output.Release();
        await writer.DisposeAsync().AsTask().WaitAsync(Bound);
    }

    private static AccessLogWriter Writer(TimeProvider time, Stream output, int bufferSize = 8192) =>
        new(new AccessLogConfig { Enabled = true, BufferSize = bufferSize, FlushInterval = Interval }, time, () => { }, output);

    private static AccessLogEntry Entry(string path) => new()
    {
        Time = DateTimeOffset.UnixEpoch,
        Direction = RequestDirection.Outbound,
        Method = "GET",
        Path = path,
        Route = "r",
        Service = "s",
        Status = 200,
        DurationMs = 1,
        Caller = "c",
    };

    /// <summary>The lines of one write, each a whole JSON object ending in a newline.</summary>
    private static IEnumerable<JsonElement> Lines(byte[] write)
    {
        var text = Encoding.UTF8.GetString(write);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        foreach (var line in text[..^1].Split('\n'))
        {
            using var json = JsonDocument.Parse(line);
            yield return json.RootElement.Clone();
        }
    }

    private static string PathOf(JsonElement line) => line.GetProperty("path").GetString()!;

    /// <summary>Keeps what each write call was given.</summary>
    private sealed class RecordingStream : WriteOnlyStream
    {
        private readonly ConcurrentQueue<byte[]> _writes = new();
        private readonly Lock _lock = new();
        private readonly List<(int Lines, TaskCompletionSource Seen)> _waiting = [];
        private int _lines;

        public IReadOnlyCollection<byte[]> Writes => _writes;

        /// <summary>Completes when at least <paramref name="lines"/> lines were written.</summary>
        public Task WaitForLinesAsync(int lines)
        {
            lock (_lock)
            {
                if (_lines >= lines)
                    return Task.CompletedTask;
                var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiting.Add((lines, seen));
                return seen.Task;
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _writes.Enqueue(buffer.ToArray());
            lock (_lock)
            {
                _lines += buffer.Count((byte)'\n');
                foreach (var (lines, seen) in _waiting)
                {
                    if (_lines >= lines)
                        seen.TrySetResult();
                }
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    }

    private sealed class BlockingStream : WriteOnlyStream
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the first write has started (and blocks).</summary>
        public Task Entered => _entered.Task;

        public void Release() => _released.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _entered.TrySetResult();
            await _released.Task;
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            _entered.TrySetResult();
            _released.Task.Wait();
        }
    }

    /// <summary>What every output stream here leaves out: it is only written to.</summary>
    private abstract class WriteOnlyStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => 0;
        public override long Position { get => 0; set { } }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
