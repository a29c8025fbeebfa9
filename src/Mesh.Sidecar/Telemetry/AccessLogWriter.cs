// Access logs off the request path, in batches: a request only appends its entry to a bounded
// queue (AccessLogQueue), never waiting and never waking anything; one background task is woken
// every `flushInterval` when lines wait (sooner when the queue is half full, and on stop),
// serializes every waiting line as JSON and writes them in one call. Waking the writer
// for every line cost a thread-pool wake-up, a write and a flush per request (docs/benchmarks.md,
// "Access log"). When the queue is full the line is dropped and counted
// (mesh.sidecar.access_log.dropped), so a slow disk or a blocked stdout can never slow or block a
// request. Stopping writes every line accepted before it.
using System.Buffers;
using System.Text.Json;
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Telemetry;

internal sealed class AccessLogWriter : IAsyncDisposable
{
    // Lines are written whenever this much is serialized, and at the end of every batch.
    private const int WriteThreshold = 256 * 1024;

    private readonly AccessLogQueue _queue;
    private readonly int _wakeAt;
    private readonly ITimer _timer;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Action _dropped;
    private readonly Stream _output;
    private readonly bool _ownsOutput;
    private readonly Task _writer;
    private int _wakePending;
    private long _droppedCount;

    public AccessLogWriter(AccessLogConfig config, TimeProvider timeProvider, Action dropped, Stream? output = null)
    {
        _dropped = dropped;
        _queue = new AccessLogQueue(config.BufferSize);
        _wakeAt = Math.Max(1, config.BufferSize / 2);
        if (output is not null)
        {
            _output = output;
        }
        else if (config.Path is { } path)
        {
            _output = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 4096, FileOptions.Asynchronous);
            _ownsOutput = true;
        }
        else
        {
            _output = Console.OpenStandardOutput();
        }
        // Periodic, so a request never touches the timer; an idle tick only reads a count.
        _timer = timeProvider.CreateTimer(static writer => ((AccessLogWriter)writer!).Tick(), this, config.FlushInterval, config.FlushInterval);
        _writer = Task.Run(RunAsync);
    }

    public long Dropped => Interlocked.Read(ref _droppedCount);

    public void Write(in AccessLogEntry entry)
    {
        var waiting = _queue.TryAdd(entry);
        if (waiting == 0)
        {
            Interlocked.Increment(ref _droppedCount);
            _dropped();
        }
        else if (waiting == _wakeAt)
        {
            Wake();
        }
    }

    private void Tick()
    {
        if (_queue.Count > 0)
            Wake();
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
            _wake.Release();
    }

    private async Task RunAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(WriteThreshold * 2);
        await using var json = new Utf8JsonWriter(buffer);
        while (true)
        {
            await _wake.WaitAsync().ConfigureAwait(false);
            // Cleared before taking the lines, so a line added after the swap wakes the writer again.
            Volatile.Write(ref _wakePending, 0);
            var batch = _queue.TakeAll(out var closed);
            var entries = batch.Array!;
            for (var i = batch.Offset; i < batch.Offset + batch.Count; i++)
            {
                entries[i].WriteTo(json);
                json.Flush();
                json.Reset();
                buffer.Write("\n"u8);
                if (buffer.WrittenCount >= WriteThreshold)
                    await WriteAsync(buffer).ConfigureAwait(false);
            }
            await WriteAsync(buffer).ConfigureAwait(false);
            _queue.Return(batch);
            if (closed)
                return;
        }
    }

    private async Task WriteAsync(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount == 0)
            return;
        try
        {
            await _output.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // A full disk or closed stdout loses lines, never the sidecar.
        }
        buffer.ResetWrittenCount();
    }

    /// <summary>Refuses new lines (counted as dropped), writes every line accepted before, and closes a file it opened.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Close();
        Wake();
        await _writer.ConfigureAwait(false);
        _timer.Dispose();
        _wake.Dispose();
        if (_ownsOutput)
            await _output.DisposeAsync().ConfigureAwait(false);
    }
}
