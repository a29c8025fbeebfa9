// Connection-level noise: connections reset before their first byte, TLS handshakes that fail,
// resets that escape a connection middleware. Any client (a port scanner, a load balancer's TCP
// check, an attacker) can cause these at will, so each is counted in
// mesh.sidecar.connection.errors{direction,kind} and logged as at most one summary line per
// interval, never with a stack trace: a thousand resets must not become a thousand log entries.
// Kestrel's own HTTP/2 abuse verdicts (rapid reset: "exceeded the output operations maximum queue
// size", logged at Critical with a stack trace per connection) are turned into the same count.
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Connections;

internal sealed partial class ConnectionNoise(TimeProvider time, ILogger logger, Action<string, string>? count = null)
{
    public const string ResetBeforeRequest = "reset_before_request";
    public const string Reset = "reset";
    public const string Handshake = "handshake";
    public const string Aborted = "aborted";
    public const string Http2Abuse = "http2_abuse";

    /// <summary>Kestrel's HTTP/2 log category; its Warning and above are verdicts on a client's connection.</summary>
    public const string KestrelHttp2Category = "Microsoft.AspNetCore.Server.Kestrel.Http2";

    /// <summary>The direction of each open connection, by Kestrel's connection id, for Kestrel's own verdicts.</summary>
    private readonly ConcurrentDictionary<string, string> _directions = new(StringComparer.Ordinal);

    /// <summary>At most one summary line per this interval.</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private long _unreported;
    private long _nextLog;

    /// <summary>
    /// The first middleware of a listener: counts, instead of letting Kestrel log it as an error
    /// with a stack trace, what breaks in the connection middlewares after it. With
    /// <paramref name="tls"/>, a connection that never gets past the handshake (see
    /// <see cref="HandshakeDone"/>) counts as a failed handshake.
    /// </summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next, string direction, bool tls)
    {
        var progress = tls ? new HandshakeProgress() : null;
        if (progress is not null)
            connection.Features.Set(progress);
        _directions[connection.ConnectionId] = direction;
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        catch (Exception e) when (KindOf(e) is { } broke)
        {
            Report(direction, broke);
            return;
        }
        finally
        {
            _directions.TryRemove(connection.ConnectionId, out _);
        }
        if (progress is { Done: false, Silent: false })
            Report(direction, Handshake);
    }

    /// <summary>
    /// Waits for the connection's first byte without consuming it, bounded by
    /// <paramref name="timeout"/> (no Kestrel timer runs yet), and counts a reset before it. Goes
    /// after interception on the outbound listener: redirected server-first protocols, whose
    /// clients rightly say nothing first, never get here.
    /// </summary>
    public async Task FirstByteAsync(ConnectionContext connection, ConnectionDelegate next, string direction, TimeSpan timeout)
    {
        var kind = await WaitForFirstByteAsync(connection, timeout).ConfigureAwait(false);
        if (kind is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }
        // Nothing to shake hands over: not a failed handshake.
        if (connection.Features.Get<HandshakeProgress>() is { } progress)
            progress.Silent = true;
        if (kind.Length > 0)
            Report(direction, kind);
    }

    /// <summary>
    /// The middleware right after TLS (or the plaintext branch of a permissive listener): the
    /// handshake is behind. It also keeps the negotiated protocol while the TLS stream is alive:
    /// Kestrel's feature reads it from the stream, which throws once the connection is gone, and
    /// requests of an HTTP/2 connection reset by its client still run after that.
    /// </summary>
    public static ConnectionDelegate HandshakeDone(ConnectionDelegate next) => connection =>
    {
        if (connection.Features.Get<HandshakeProgress>() is { } progress)
            progress.Done = true;
        if (connection.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>() is { } tls)
            connection.Features.Set(new NegotiatedTls(tls.Protocol));
        return next(connection);
    };

    /// <summary>null: a byte arrived, go on; "": closed cleanly or timed out silently, nothing to count; else the kind.</summary>
    private static async Task<string?> WaitForFirstByteAsync(ConnectionContext connection, TimeSpan timeout)
    {
        var input = connection.Transport.Input;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                if (read.Buffer.Length > 0)
                {
                    input.AdvanceTo(read.Buffer.Start); // consume nothing: the next layer reads it all
                    return null;
                }
                input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                // A FIN alone is a TCP check that connects and closes: not an error.
                if (read.IsCompleted || read.IsCanceled)
                    return "";
            }
        }
        catch (OperationCanceledException) when (connection.ConnectionClosed.IsCancellationRequested)
        {
            // The transport may signal the close before it completes the input: the input's end says how.
            return await HowTheInputEndedAsync(input).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            connection.Abort(new ConnectionAbortedException("no request within the keep-alive timeout"));
            return "";
        }
        catch (Exception e) when (KindOf(e) is not null)
        {
            return ResetBeforeRequest;
        }
    }

    /// <summary>A reset completes the input with an error, a FIN without one.</summary>
    private static async Task<string> HowTheInputEndedAsync(System.IO.Pipelines.PipeReader input)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            var read = await input.ReadAsync(bound.Token).ConfigureAwait(false);
            input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            return "";
        }
        catch (OperationCanceledException)
        {
            return "";
        }
        catch (Exception e) when (KindOf(e) is not null)
        {
            return ResetBeforeRequest;
        }
    }

    /// <summary>What the peer (or the network) did; null for anything else, which stays a real error.</summary>
    internal static string? KindOf(Exception e) => e switch
    {
        ConnectionResetException => Reset,
        ConnectionAbortedException or OperationCanceledException => Aborted,
        AuthenticationException => Handshake,
        IOException { InnerException: SocketException or AuthenticationException } io => KindOf(io.InnerException!),
        SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.OperationAborted } => Reset,
        IOException => Reset,
        _ => null,
    };

    /// <summary>Counts one error; logs a summary line (no exception) when the interval has passed.</summary>
    public void Report(string direction, string kind)
    {
        count?.Invoke(direction, kind);
        var unreported = Interlocked.Increment(ref _unreported);
        var now = time.GetTimestamp();
        var next = Volatile.Read(ref _nextLog);
        if (now < next || Interlocked.CompareExchange(ref _nextLog, now + (long)(LogInterval.TotalSeconds * time.TimestampFrequency), next) != next)
            return;
        unreported = Interlocked.Exchange(ref _unreported, 0);
        Log.ConnectionErrors(logger, unreported, direction, kind, LogInterval);
    }

    /// <summary>
    /// Receives Kestrel's HTTP/2 verdicts on a connection (registered for <see cref="KestrelHttp2Category"/>
    /// only, which every other log provider drops): counts each as <see cref="Http2Abuse"/> on the
    /// connection's direction, logged like every other connection error.
    /// </summary>
    internal sealed class KestrelHttp2Verdicts(Func<ConnectionNoise?> noise) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel) || noise() is not { } target)
                return;
            var id = state is IReadOnlyList<KeyValuePair<string, object?>> fields
                ? fields.FirstOrDefault(f => f.Key == "ConnectionId").Value as string
                : null;
            target.Report(id is not null && target._directions.TryGetValue(id, out var direction) ? direction : "inbound", Http2Abuse);
        }

        public void Dispose()
        {
        }
    }

    /// <summary>The TLS protocol a connection negotiated, read once at the handshake.</summary>
    internal sealed record NegotiatedTls(SslProtocols Protocol);

    /// <summary>Set on connections of a TLS listener; <see cref="Done"/> once the handshake is behind.</summary>
    internal sealed class HandshakeProgress
    {
        public bool Done { get; set; }

        /// <summary>Closed or reset before its first byte (counted as that instead).</summary>
        public bool Silent { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "{Count} connection error(s) since the last report, latest on {Direction}: {Kind} (counted in mesh_sidecar_connection_errors_total; at most one line per {Interval})")]
        public static partial void ConnectionErrors(ILogger logger, long count, string direction, string kind, TimeSpan interval);
    }
}
