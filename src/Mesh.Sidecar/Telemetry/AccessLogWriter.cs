// Access logs off the request path: requests put entries into a bounded channel (never waiting);
// one background task serializes them as JSON lines and writes them in batches. When the channel
// is full the entry is dropped and counted (mesh.sidecar.access_log.dropped), so a slow disk or a
// blocked stdout can never slow or block a request.
using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Telemetry;

internal sealed class AccessLogWriter : IAsyncDisposable
{
    private const int FlushThreshold = 64 * 1024;

    private readonly Channel<AccessLogEntry> _channel;
    private readonly Action _dropped;
    private readonly Stream _output;
    private readonly bool _ownsOutput;
    private readonly Task _writer;
    private long _droppedCount;

    public AccessLogWriter(AccessLogConfig config, Action dropped, Stream? output = null)
    {
        _dropped = dropped;
        _channel = Channel.CreateBounded<AccessLogEntry>(new BoundedChannelOptions(config.BufferSize)
        {
            // Wait mode makes TryWrite fail when full instead of silently discarding.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
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
        _writer = Task.Run(RunAsync);
    }

    public long Dropped => Interlocked.Read(ref _droppedCount);

    public void Write(AccessLogEntry entry)
    {
        if (_channel.Writer.TryWrite(entry))
            return;
        Interlocked.Increment(ref _droppedCount);
        _dropped();
    }

    private async Task RunAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(FlushThreshold * 2);
        await using var json = new Utf8JsonWriter(buffer);
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var entry))
            {
                entry.WriteTo(json);
                json.Flush();
                json.Reset();
                buffer.Write("\n"u8);
                if (buffer.WrittenCount >= FlushThreshold)
                    await FlushAsync(buffer).ConfigureAwait(false);
            }
            await FlushAsync(buffer).ConfigureAwait(false);
        }
    }

    private async Task FlushAsync(ArrayBufferWriter<byte> buffer)
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

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        if (_ownsOutput)
            await _output.DisposeAsync().ConfigureAwait(false);
    }
}
