// The outbound listener's connection middleware for transparent interception. A connection that
// `mesh iptables` redirected carries its original destination; HTTP goes on to Kestrel (and the
// outbound handler routes it, using that destination when the Host header names no service),
// anything else is spliced to the original destination. Connections nobody redirected (explicit
// mode) go straight to Kestrel, as before.
using System.IO.Pipelines;
using Mesh.Sidecar.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Outbound.Interception;

internal sealed partial class InterceptionMiddleware(InterceptionConfig config, OwnConnections own, TimeSpan connectTimeout, Func<ILogger> logger)
{
    private readonly TcpPassthrough _passthrough = new(own, connectTimeout);

    public ConnectionDelegate Wrap(ConnectionDelegate next) => connection => HandleAsync(connection, next);

    private async Task HandleAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        var destination = socket is null ? null : OriginalDestination.Read(socket);
        if (destination is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        if (own.Contains(connection.RemoteEndPoint))
        {
            Log.OwnTrafficRedirected(logger(), destination);
            connection.Abort(new ConnectionAbortedException("the sidecar's own connection was redirected back to it"));
            return;
        }

        connection.Features.Set<IOriginalDestinationFeature>(new OriginalDestinationFeature(destination));
        if (await SniffAsync(connection.Transport.Input, connection.ConnectionClosed).ConfigureAwait(false) == SniffResult.Http)
            await next(connection).ConfigureAwait(false);
        else
            await _passthrough.SpliceAsync(connection, destination).ConfigureAwait(false);
    }

    /// <summary>Looks at the first bytes without consuming them, so whoever handles the connection reads it from the start.</summary>
    private async Task<SniffResult> SniffAsync(PipeReader input, CancellationToken closed)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(closed);
        timeout.CancelAfter(config.SniffTimeout);
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Silent (a server-first protocol) or cut short: pass through. Un-examine what was
                // seen so the pass-through's first read returns it at once.
                if (input.TryRead(out var pending))
                    input.AdvanceTo(pending.Buffer.Start);
                return SniffResult.NotHttp;
            }
            var result = ProtocolSniffer.Classify(read.Buffer);
            if (result != SniffResult.NeedMore || read.IsCompleted)
            {
                input.AdvanceTo(read.Buffer.Start);
                return result == SniffResult.Http ? result : SniffResult.NotHttp;
            }
            input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "The sidecar's own connection to {Destination} was redirected back to it: run the sidecar as the uid given to `mesh iptables --proxy-uid`")]
        public static partial void OwnTrafficRedirected(ILogger logger, System.Net.IPEndPoint destination);
    }
}
