using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace Mesh.Sidecar.Security;

/// <summary>
/// A connection middleware between TLS and the HTTP layer of an inbound mTLS listener that turns
/// the HTTP layer's flushes into one TLS write per burst. Kestrel's HTTP/2 writer flushes once per
/// stream it serves, and each flush under TLS is a record of its own and a <c>sendto</c>: sidecar B
/// of a pair wrote almost every response to A alone. Here a flush only wakes a writer queued on
/// the flushing thread's own work queue, so it runs when the HTTP/2 writer has served every
/// stream that was ready, and writes what they all flushed as one record: no thread wakes for it
/// and no response waits behind a timer.
/// </summary>
internal static class BatchedTlsOutput
{
    public static ConnectionDelegate Use(ConnectionDelegate next) => Use(next, LocalQueueScheduler.Instance);

    /// <param name="next">The HTTP layer.</param>
    /// <param name="copyScheduler">Where a flush starts the copy to TLS (tests run it by hand).</param>
    internal static ConnectionDelegate Use(ConnectionDelegate next, PipeScheduler copyScheduler) => async connection =>
    {
        var tls = connection.Transport;
        var batched = new Pipe(new PipeOptions(
            readerScheduler: copyScheduler,
            writerScheduler: PipeScheduler.Inline,
            useSynchronizationContext: false));
        connection.Transport = new DuplexPipe(tls.Input, batched.Writer);
        var copying = CopyAsync(batched.Reader, tls.Output, connection);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            // The HTTP layer completes its output when it is done; this covers it throwing first.
            await batched.Writer.CompleteAsync().ConfigureAwait(false);
            await copying.ConfigureAwait(false);
            connection.Transport = tls;
        }
    };

    /// <summary>Writes everything flushed so far in one go, until the HTTP layer completes or TLS fails.</summary>
    private static async Task CopyAsync(PipeReader from, PipeWriter to, ConnectionContext connection)
    {
        try
        {
            while (true)
            {
                var read = await from.ReadAsync().ConfigureAwait(false);
                var buffer = read.Buffer;
                foreach (var segment in buffer)
                    to.Write(segment.Span);
                from.AdvanceTo(buffer.End);
                if (!buffer.IsEmpty)
                {
                    var flushed = await to.FlushAsync().ConfigureAwait(false);
                    if (flushed.IsCompleted || flushed.IsCanceled)
                        break;
                }
                if (read.IsCompleted)
                {
                    // The HTTP layer is done with the connection: so is TLS (as when it wrote there itself).
                    await to.CompleteAsync().ConfigureAwait(false);
                    break;
                }
                if (read.IsCanceled)
                    break;
            }
        }
        catch (Exception e)
        {
            // The connection broke under TLS. As with Kestrel's own socket transport, the HTTP
            // layer's next flush reports the output completed (not this exception), and the
            // connection is aborted so that nothing waits on it.
            connection.Abort(new ConnectionAbortedException("the TLS connection failed while writing", e));
        }
        await from.CompleteAsync().ConfigureAwait(false);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// Runs the copy on the flushing thread's local queue, after the work that flushed: the HTTP/2
    /// writer serves all ready streams in that work item, so the copy finds all of their frames.
    /// </summary>
    private sealed class LocalQueueScheduler : PipeScheduler
    {
        public static readonly LocalQueueScheduler Instance = new();

        public override void Schedule(Action<object?> action, object? state) =>
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: true);
    }
}
