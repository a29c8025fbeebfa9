// A plain TCP connection to a listener for bytes no well-behaved HttpClient would send: broken
// request lines, header floods, conflicting framing, slow trickles. Every read is bounded by a
// timeout, so a sidecar that neither answers nor closes fails the test instead of hanging it.
using System.Net.Sockets;
using System.Text;

namespace Mesh.Sidecar.Tests.Hostile;

internal sealed class RawHttpConnection : IAsyncDisposable
{
    /// <summary>How long any single test waits for an answer or a close; generous for a loaded CI machine.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly List<byte> _received = [];

    private RawHttpConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawHttpConnection> OpenAsync(Uri listener)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(listener.Host, listener.Port);
        return new RawHttpConnection(tcp);
    }

    /// <summary>Sends bytes; false when the server has already closed or reset the connection.</summary>
    public async Task<bool> TrySendAsync(string ascii) => await TrySendAsync(Encoding.ASCII.GetBytes(ascii));

    public async Task<bool> TrySendAsync(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            await _stream.WriteAsync(bytes);
            await _stream.FlushAsync();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Reads one response head and its Content-Length body; null when the connection ends first.</summary>
    public async Task<RawHttpResponse?> ReadResponseAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        int headEnd;
        while ((headEnd = IndexOfHeadEnd()) < 0)
        {
            if (!await ReadMoreAsync(timeout.Token))
                return null;
        }
        var head = Encoding.ASCII.GetString([.. _received.Take(headEnd)]);
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1)
            .Select(l => l.Split(':', 2))
            .GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => string.Join(",", g.Select(p => p[1].Trim())), StringComparer.OrdinalIgnoreCase);
        _received.RemoveRange(0, headEnd + 4);
        var length = headers.TryGetValue("content-length", out var text) ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : 0;
        while (_received.Count < length)
        {
            if (!await ReadMoreAsync(timeout.Token))
                break;
        }
        var body = Encoding.UTF8.GetString([.. _received.Take(length)]);
        _received.RemoveRange(0, Math.Min(length, _received.Count));
        return new RawHttpResponse(status, headers, body);
    }

    /// <summary>
    /// Reads until the server ends the connection (FIN or reset) and returns true, or false when
    /// it is still open after <see cref="Patience"/>. Any response on the way is discarded.
    /// </summary>
    public async Task<bool> WaitForCloseAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            while (await ReadMoreAsync(timeout.Token))
            {
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Closes with a TCP reset (linger 0), as a crashed or killed client would.</summary>
    public void Reset()
    {
        _tcp.Client.LingerState = new LingerOption(true, 0);
        _tcp.Client.Close();
    }

    private async Task<bool> ReadMoreAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        int read;
        try
        {
            read = await _stream.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException)
        {
            return false;
        }
        _received.AddRange(buffer.AsSpan(0, read));
        return read > 0;
    }

    private int IndexOfHeadEnd()
    {
        for (var i = 0; i + 3 < _received.Count; i++)
        {
            if (_received[i] == '\r' && _received[i + 1] == '\n' && _received[i + 2] == '\r' && _received[i + 3] == '\n')
                return i;
        }
        return -1;
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal sealed record RawHttpResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public bool SaysClose => Header("connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;
}
