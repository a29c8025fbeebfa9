// The access log writer as it was before batching (src/Mesh.Sidecar/Telemetry/AccessLogWriter.cs
// at 5e4409d), kept only as the "before" of AccessLogBenchmarks so both run in one process: a
// bounded channel whose one reader is woken for every line that finds it idle, and writes and
// flushes what it found each time.
using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Benchmarks.Telemetry;

internal sealed class PerLineAccessLogWriter : IAsyncDisposable
{
    private const int FlushThreshold = 64 * 1024;

    private readonly Channel<AccessLogEntry> _channel;
    private readonly Action _dropped;
    private readonly Stream _output;
    private readonly bool _ownsOutput;
    private readonly Task _writer;
    private long _droppedCount;

    public PerLineAccessLogWriter(AccessLogConfig config, Action dropped, Stream? output = null)
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

    public void Write(in AccessLogEntry entry)
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
