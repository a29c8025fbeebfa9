using System.Net.Sockets;
using System.Text;

namespace Mesh.Registry.Tests.Api.Limits;

/// <summary>
/// HTTP/1.1 over a bare socket, for what HttpClient will not send: bodies larger than declared,
/// bodies that stop half way, raw bytes in the request line and headers.
/// </summary>
internal sealed class RawHttp : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawHttp(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawHttp> ConnectAsync(Uri baseUrl, CancellationToken cancellationToken = default)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(baseUrl.Host, baseUrl.Port, cancellationToken);
        return new RawHttp(tcp);
    }

    /// <summary>Bytes written so far (request line, headers and body).</summary>
    public long Sent { get; private set; }

    public Task SendHeadAsync(string method, string target, params string[] headers) =>
        SendAsync(Encoding.Latin1.GetBytes($"{method} {target} HTTP/1.1\r\nHost: localhost\r\n{string.Concat(headers.Select(h => h + "\r\n"))}\r\n"));

    /// <summary>False when the server has closed the connection (or reset it) instead of reading more.</summary>
    public async Task<bool> TrySendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        try
        {
            await SendAsync(bytes, cancellationToken);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        await _stream.WriteAsync(bytes, cancellationToken);
        Sent += bytes.Length;
    }

    public static byte[] Chunk(ReadOnlySpan<byte> data) =>
        [.. Encoding.ASCII.GetBytes($"{data.Length:X}\r\n"), .. data, .. "\r\n"u8];

    /// <summary>True when the server has sent something (an early answer) without waiting for the rest of the body.</summary>
    public bool AnswerWaiting => _tcp.Available > 0;

    /// <summary>Reads one response (status, headers, a Content-Length or chunked body); null when the connection closed first.</summary>
    public async Task<RawResponse?> ReadResponseAsync(CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int headEnd;
        while ((headEnd = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
        {
            int read;
            try
            {
                read = await _stream.ReadAsync(chunk, cancellationToken);
            }
            catch (IOException)
            {
                read = 0;
            }
            if (read == 0)
                return null;
            buffer.Write(chunk, 0, read);
        }

        var all = buffer.ToArray();
        var head = Encoding.Latin1.GetString(all, 0, headEnd);
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = new MemoryStream();
        body.Write(all, headEnd + 4, all.Length - headEnd - 4);
        async Task<bool> More()
        {
            int read;
            try
            {
                read = await _stream.ReadAsync(chunk, cancellationToken);
            }
            catch (IOException)
            {
                return false;
            }
            body.Write(chunk, 0, read);
            return read > 0;
        }

        if (headers.TryGetValue("Content-Length", out var lengthText))
        {
            var length = long.Parse(lengthText, System.Globalization.CultureInfo.InvariantCulture);
            while (body.Length < length && await More())
            {
            }
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (IndexOf(body, "0\r\n\r\n"u8) < 0 && await More())
            {
            }
            body = Dechunk(body.ToArray());
        }

        return new RawResponse(status, headers, Encoding.UTF8.GetString(body.ToArray()));
    }

    private static MemoryStream Dechunk(byte[] bytes)
    {
        var output = new MemoryStream();
        var at = 0;
        while (at < bytes.Length)
        {
            var lineEnd = Array.IndexOf(bytes, (byte)'\r', at);
            if (lineEnd < 0)
                break;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(bytes, at, lineEnd - at).Split(';')[0], 16);
            if (size == 0)
                break;
            output.Write(bytes, lineEnd + 2, Math.Min(size, bytes.Length - lineEnd - 2));
            at = lineEnd + 2 + size + 2;
        }
        return output;
    }

    private static int IndexOf(MemoryStream stream, ReadOnlySpan<byte> pattern) =>
        stream.GetBuffer().AsSpan(0, (int)stream.Length).IndexOf(pattern);

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Body).RootElement;

    public string? Error => Json.GetProperty("error").GetString();

    public string? Message => Json.GetProperty("message").GetString();
}
