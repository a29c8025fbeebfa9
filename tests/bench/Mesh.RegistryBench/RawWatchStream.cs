using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Mesh.RegistryBench;

/// <summary>What a record of a watch stream is, as far as the bench's fan-out shape needs to know.</summary>
public enum RawRecordKind
{
    Change,
    Progress,
    Resume,
    Other,
}

/// <summary>One record of a <see cref="RawWatchStream"/>: its kind, its index, and whether a change is of the watched path.</summary>
public readonly record struct RawRecord(RawRecordKind Kind, long Index, bool OfPath);

/// <summary>
/// A watch stream (<c>GET /v1/watch-stream</c>) read straight off its socket: the request written by
/// hand, the chunked body decoded in the receive buffer, each line's type, index and path read with
/// <see cref="Utf8JsonReader"/> where it lies. The fan-out shape runs 10,000 of these on the same two
/// cores as the nodes it measures, so the reader's own cost is part of every latency; this one
/// still parses and checks every record (a line that is not a record ends the stream with an
/// error), but spends no HttpClient layers, record objects or strings on it. The client library's
/// reader (<c>WatchRecordReader</c> under <c>HttpClient</c>, what a sidecar runs) stays the default.
/// </summary>
public sealed class RawWatchStream : IDisposable
{
    private const int MaxLine = 64 * 1024;
    private static readonly byte[] s_headerEnd = "\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly byte[] _path;
    private readonly byte[] _buffer = new byte[8 * 1024];
    private byte[]? _partial;
    private int _partialLength;
    private int _start;
    private int _end;
    private long _chunkLeft = -1;   // -1: a chunk-size line is next; 0: the CRLF after a chunk's data

    private RawWatchStream(Socket socket, string path)
    {
        _socket = socket;
        _path = Encoding.UTF8.GetBytes(path);
    }

    /// <summary>Connects to <paramref name="endpoint"/> (http://host:port), asks for the stream and reads the answer's head; throws unless it is a 200 with a chunked body.</summary>
    public static async Task<RawWatchStream> OpenAsync(string endpoint, string query, string path, CancellationToken ct)
    {
        var uri = new Uri(endpoint);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var stream = new RawWatchStream(socket, path);
        try
        {
            await socket.ConnectAsync(uri.Host, uri.Port, ct).ConfigureAwait(false);
            var request = Encoding.ASCII.GetBytes($"GET /v1/watch-stream?{query} HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n");
            await socket.SendAsync(request, SocketFlags.None, ct).ConfigureAwait(false);
            await stream.ReadHeadAsync(ct).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The next record; null when the node ended the response.</summary>
    public async ValueTask<RawRecord?> ReadAsync(CancellationToken ct)
    {
        while (true)
        {
            if (TryRead(out var record, out var ended))
                return record;
            if (ended || !await FillAsync(ct).ConfigureAwait(false))
                return null;
        }
    }

    public void Dispose() => _socket.Dispose();

    private async Task ReadHeadAsync(CancellationToken ct)
    {
        while (true)
        {
            var at = _buffer.AsSpan(_start, _end - _start).IndexOf(s_headerEnd);
            if (at >= 0)
            {
                var head = Encoding.ASCII.GetString(_buffer, _start, at);
                _start += at + s_headerEnd.Length;
                if (!head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
                    throw new HttpRequestException($"watch stream refused: {head.Split("\r\n")[0]}");
                if (!head.Contains("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase))
                    throw new HttpRequestException("watch stream answered without a chunked body");
                return;
            }
            if (!await FillAsync(ct).ConfigureAwait(false))
                throw new HttpRequestException("the node closed the connection before the stream's head");
        }
    }

    /// <summary>Decodes what the buffer holds up to the next whole line, and reads it.</summary>
    private bool TryRead(out RawRecord record, out bool ended)
    {
        record = default;
        ended = false;
        while (true)
        {
            var unread = _buffer.AsSpan(_start, _end - _start);
            if (_chunkLeft < 0)
            {
                var lineEnd = unread.IndexOf("\r\n"u8);
                if (lineEnd < 0)
                    return false;
                var sizeText = unread[..lineEnd];
                var extension = sizeText.IndexOf((byte)';');
                if (extension >= 0)
                    sizeText = sizeText[..extension];
                if (!Utf8Parser.TryParse(sizeText, out long size, out var used, 'x') || used != sizeText.Length)
                    throw new InvalidDataException($"not a chunk size: '{Encoding.ASCII.GetString(unread[..lineEnd])}'");
                _start += lineEnd + 2;
                if (size == 0)
                {
                    ended = true;
                    return false;
                }
                _chunkLeft = size;
            }
            else if (_chunkLeft == 0)
            {
                if (unread.Length < 2)
                    return false;
                if (unread[0] != '\r' || unread[1] != '\n')
                    throw new InvalidDataException("a chunk's data is not followed by CRLF");
                _start += 2;
                _chunkLeft = -1;
            }
            else
            {
                var data = unread[..(int)Math.Min(_chunkLeft, unread.Length)];
                if (data.IsEmpty)
                    return false;
                var newline = data.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    Keep(data);
                    _start += data.Length;
                    _chunkLeft -= data.Length;
                    continue;
                }
                if (_partialLength == 0)
                {
                    record = Parse(data[..newline]);
                }
                else
                {
                    Keep(data[..newline]);
                    record = Parse(_partial.AsSpan(0, _partialLength));
                    _partialLength = 0;
                }
                _start += newline + 1;
                _chunkLeft -= newline + 1;
                return true;
            }
        }
    }

    /// <summary>A line split over chunks or reads: kept until its end arrives.</summary>
    private void Keep(ReadOnlySpan<byte> part)
    {
        if (_partialLength + part.Length > MaxLine)
            throw new InvalidDataException($"a watch stream line over {MaxLine} bytes");
        _partial ??= new byte[MaxLine];
        part.CopyTo(_partial.AsSpan(_partialLength));
        _partialLength += part.Length;
    }

    private RawRecord Parse(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        var kind = (RawRecordKind?)null;
        var index = -1L;
        var ofPath = false;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException("a watch stream line that is not a JSON object");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                kind = reader.ValueTextEquals("progress"u8) ? RawRecordKind.Progress
                    : reader.ValueTextEquals("resume"u8) ? RawRecordKind.Resume
                    : reader.ValueTextEquals("created"u8) || reader.ValueTextEquals("dataChanged"u8) || reader.ValueTextEquals("deleted"u8) || reader.ValueTextEquals("childrenChanged"u8) ? RawRecordKind.Change
                    : RawRecordKind.Other;
            }
            else if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                index = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("path"u8))
            {
                reader.Read();
                ofPath = reader.ValueTextEquals(_path);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (kind is not { } known || index < 0)
            throw new JsonException($"a watch stream record without a type or an index: {Encoding.UTF8.GetString(line)}");
        return new RawRecord(known, index, ofPath);
    }

    /// <summary>Reads more from the socket; false when the node closed it.</summary>
    private async ValueTask<bool> FillAsync(CancellationToken ct)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            throw new InvalidDataException("a chunk-size line or the stream's head is longer than the read buffer");
        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct).ConfigureAwait(false);
        _end += read;
        return read > 0;
    }
}
