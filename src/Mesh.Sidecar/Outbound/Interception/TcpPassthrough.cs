// The fallback that makes interception safe: a connection the mesh does not understand goes on
// to where the app sent it, byte for byte, as if no sidecar were there. The sidecar's own
// connection is not redirected again because `mesh iptables` exempts its uid.
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Mesh.Sidecar.Outbound.Interception;

internal sealed class TcpPassthrough(OwnConnections own, TimeSpan connectTimeout)
{
    public async Task SpliceAsync(ConnectionContext connection, IPEndPoint destination)
    {
        Stream upstream;
        try
        {
            using var connecting = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
            connecting.CancelAfter(connectTimeout);
            upstream = await own.ConnectAsync(destination, connecting.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // The app sees what it would have seen without the mesh: the connection closes.
            connection.Abort(new ConnectionAbortedException($"pass-through to {destination} failed: {e.Message}"));
            return;
        }

        await using (upstream.ConfigureAwait(false))
        {
            var toUpstream = CopyToUpstreamAsync(connection.Transport.Input, (NetworkStream)upstream);
            var toApp = CopyToAppAsync(upstream, connection.Transport.Output);
            try
            {
                await Task.WhenAll(toUpstream, toApp).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ConnectionResetException)
            {
                // One side reset: reset the other too rather than leave it half-open.
                connection.Abort(new ConnectionAbortedException("pass-through peer closed"));
                ((NetworkStream)upstream).Socket.Close(0);
            }
        }
    }

    private static async Task CopyToUpstreamAsync(PipeReader fromApp, NetworkStream upstream)
    {
        await fromApp.CopyToAsync(upstream).ConfigureAwait(false);
        // The app finished sending (half-close): tell the destination, keep reading its answer.
        upstream.Socket.Shutdown(SocketShutdown.Send);
    }

    private static async Task CopyToAppAsync(Stream upstream, PipeWriter toApp)
    {
        await upstream.CopyToAsync(toApp).ConfigureAwait(false);
        await toApp.CompleteAsync().ConfigureAwait(false);
    }
}
