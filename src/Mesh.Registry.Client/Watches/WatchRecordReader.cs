using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// Reads a watch stream's newline-delimited records from the response bytes. Every sidecar runs
/// one for its whole life and the scale bench runs 10,000, so a record costs its own object (and
/// its data's array when it carries data) and nothing else: a line is parsed where it lies in the
/// buffer with <see cref="Utf8JsonReader"/>, with no string of the line and no second decoding;
/// the type is one of the contract's constant strings; and the paths come from a small cache, a
/// stream naming the same few paths over and over.
/// </summary>
internal sealed class WatchRecordReader(Stream stream)
{
    /// <summary>The longest line taken (a record with 4 KiB of data is under 6 KiB): a longer one is not a record of this API.</summary>
    public const int MaxLineBytes = 64 * 1024;

    private const int MaxCachedPaths = 1024;

    /// <summary>Paths up to this many bytes are looked up in the cache from a stack buffer; longer ones are new strings.</summary>
    private const int MaxCachedPathBytes = 512;

    private static readonly (byte[] Utf8, string Text, Name Value)[] Names =
    [
        .. new (string Text, Name Value)[]
        {
            ("type", Name.Type), ("index", Name.Index), ("path", Name.Path), ("data", Name.Data),
            ("version", Name.Version), ("servicePath", Name.ServicePath), ("message", Name.Message),
        }.Select(n => (Encoding.UTF8.GetBytes(n.Text), n.Text, n.Value)),
    ];

    /// <summary>The contract's types, most frequent first, so a record's type is the constant string, not a new one.</summary>
    private static readonly (byte[] Utf8, string Type)[] Types =
    [
        .. new[]
        {
            WatchStreamRecord.Progress, ChangeEvent.Created, ChangeEvent.DataChanged, ChangeEvent.Deleted,
            ChangeEvent.ChildrenChanged, WatchStreamRecord.TrustBundle, WatchStreamRecord.Resume,
        }.Select(t => (Encoding.UTF8.GetBytes(t), t)),
    ];

    private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;
    private int _scanned;

    /// <summary>The next record when its whole line is already here; false when the stream must be read (<see cref="ReadAsync"/>).</summary>
    public bool TryRead(out WatchStreamRecord? record)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_scanned, _end - _scanned).IndexOf((byte)'\n');
            if (newline < 0)
            {
                _scanned = _end;
                record = null;
                return false;
            }
            var line = _buffer.AsSpan(_start, _scanned + newline - _start);
            _start = _scanned = _scanned + newline + 1;
            if (line.Trim(" \r\t"u8).IsEmpty)
                continue;
            record = Parse(line);
            return true;
        }
    }

    /// <summary>
    /// The next record, or null where the stream ends. Throws <see cref="JsonException"/> for a line
    /// that is not a record and <see cref="IOException"/> for one longer than <see cref="MaxLineBytes"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<WatchStreamRecord?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryRead(out var record))
                return record;
            MakeRoom();
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
                return TakeLast();
            _end += read;
        }
    }

    // Where the stream ends, a last line without its newline is still a line (as a text reader has it).
    private WatchStreamRecord? TakeLast()
    {
        var line = _buffer.AsSpan(_start, _end - _start);
        _start = _scanned = _end;
        return line.Trim(" \r\t"u8).IsEmpty ? null : Parse(line);
    }

    private void MakeRoom()
    {
        var pending = _end - _start;
        if (pending >= MaxLineBytes)
            throw new IOException($"a watch stream line is longer than {MaxLineBytes} bytes; records of this API are not");
        if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _scanned -= _start;
            _start = 0;
            _end = pending;
        }
        if (_end == _buffer.Length)
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes + 1));
    }

    /// <summary>One line as a record; the property names as the serializer's web defaults take them (camelCase, any case).</summary>
    internal WatchStreamRecord Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            return ParseObject(line);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            // A value of the wrong kind (a quoted number, a number for a path, bad base64).
            throw new JsonException($"a watch stream record has a value of the wrong kind: {e.Message}", e);
        }
    }

    private WatchStreamRecord ParseObject(ReadOnlySpan<byte> line)
    {
        var json = new Utf8JsonReader(line);
        if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            throw new JsonException("a watch stream line is not a JSON object");
        string? type = null, path = null, message = null, servicePath = null;
        long? index = null, version = null;
        ReadOnlyMemory<byte>? data = null;
        while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
        {
            var name = NameOf(ref json);
            if (!json.Read())
                break;
            var isNull = json.TokenType == JsonTokenType.Null;
            switch (name)
            {
                case Name.Type:
                    type = isNull ? null : TypeOf(ref json);
                    break;
                case Name.Index:
                    index = isNull ? null : json.GetInt64();
                    break;
                case Name.Path:
                    path = isNull ? null : PathOf(ref json);
                    break;
                case Name.ServicePath:
                    servicePath = isNull ? null : PathOf(ref json);
                    break;
                case Name.Message:
                    message = isNull ? null : json.GetString();
                    break;
                case Name.Data:
                    data = isNull ? null : json.GetBytesFromBase64();
                    break;
                case Name.Version:
                    version = isNull ? null : json.GetInt64();
                    break;
                default:
                    json.Skip();
                    break;
            }
        }
        if (json.TokenType != JsonTokenType.EndObject)
            throw new JsonException("a watch stream line is not one whole JSON object");
        if (type is null || index is null)
            throw new JsonException($"a watch stream record needs a type and an index: {(type is null ? "no type" : "no index")}");
        return new WatchStreamRecord(type, index.Value, path, message, servicePath, data, version);
    }

    private enum Name
    {
        Other,
        Type,
        Index,
        Path,
        ServicePath,
        Message,
        Data,
        Version,
    }

    private static Name NameOf(ref Utf8JsonReader json)
    {
        foreach (var (utf8, _, value) in Names)
        {
            if (json.ValueTextEquals(utf8))
                return value;
        }
        // Not as the server writes them: the serializer this replaces took names in any case.
        var name = json.GetString() ?? "";
        foreach (var (_, text, value) in Names)
        {
            if (name.Equals(text, StringComparison.OrdinalIgnoreCase))
                return value;
        }
        return Name.Other;
    }

    private static string TypeOf(ref Utf8JsonReader json)
    {
        foreach (var (utf8, type) in Types)
        {
            if (json.ValueTextEquals(utf8))
                return type;
        }
        return json.GetString()!;
    }

    private string PathOf(ref Utf8JsonReader json)
    {
        if (json.TokenType != JsonTokenType.String || json.HasValueSequence || json.ValueSpan.Length > MaxCachedPathBytes)
            return json.GetString()!;
        // Unescaped UTF-16 is never longer than its UTF-8 bytes.
        Span<char> chars = stackalloc char[json.ValueSpan.Length];
        chars = chars[..json.CopyString(chars)];
        var cached = _paths.GetAlternateLookup<ReadOnlySpan<char>>();
        if (cached.TryGetValue(chars, out var path))
            return path;
        if (_paths.Count >= MaxCachedPaths)
            _paths.Clear();
        path = new string(chars);
        _paths[path] = path;
        return path;
    }
}
