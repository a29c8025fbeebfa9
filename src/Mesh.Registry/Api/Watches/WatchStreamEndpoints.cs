using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Ca;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Storage;
using Mesh.Registry.Watches;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Mesh.Registry.Api.Watches;

/// <summary>
/// <c>GET /v1/watch-stream?prefix=P&amp;path=Q&amp;trust=true&amp;data=true&amp;after=N</c> (or <c>POST</c> with the
/// same parameters as a form body, for more watches than a URL holds): one long response of
/// newline-delimited <see cref="WatchStreamRecord"/>s carrying every change after N under the
/// watched paths, with progress marks while nothing changes, served from this node's applied
/// state (docs/registry-api.md, "Streaming watches"). The records come ready-encoded from the
/// node's <see cref="WatchFanout"/>; this endpoint only copies them to the socket.
/// </summary>
internal sealed class WatchStreamEndpoints(RegistryStore store, ApiAuthenticator auth, RegistryLimits limits)
{
    public const string Path = "/v1/watch-stream";

    /// <summary>How long the last record (the resume mark) may take to leave before the connection is dropped.</summary>
    private static readonly TimeSpan FinalFlush = TimeSpan.FromSeconds(5);

    public void Map(IEndpointRouteBuilder api)
    {
        api.MapGet(Path, StreamAsync);
        api.MapPost(Path, StreamAsync);
        api.MapOthers(Path, context => ApiRoutes.MethodNotAllowed(context, "GET, POST"));
    }

    private async Task StreamAsync(HttpContext context)
    {
        var parameters = await ParametersOfAsync(context).ConfigureAwait(false);
        var targets = TargetsOf(parameters, limits.MaxWatchesPerStream);
        var after = Query.Long("after", parameters.FirstOrDefault(p => p.Key == "after").Value.ToString()) ?? store.AppliedIndex;
        var withData = parameters.FirstOrDefault(p => p.Key == "data") is { Key: not null } data && Query.Bool("data", data.Value.ToString(), present: true);
        if (after < 0)
            throw ApiException.BadRequest($"after={after} is not an index; indexes are 0 or more");
        var fanout = store.Hub.Fanout;
        WatchStream stream;
        try
        {
            stream = fanout.Subscribe(targets, CallerOf(context), after, withData,
                seesOnlyOpenNodes: NodeReadAccess.SeesOnlyOpenNodes(auth.Enabled, ApiAccessFilter.CallerOf(context)));
        }
        catch (TooManyStreamsException e)
        {
            context.Response.Headers.RetryAfter = "1";
            throw new ApiException(StatusCodes.Status429TooManyRequests, ApiErrors.TooManyRequests, e.Message);
        }
        try
        {
            await new StreamWriter(context, stream, fanout).RunAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The reader went away.
        }
        finally
        {
            stream.Interrupted = null;
            fanout.Unsubscribe(stream);
        }
    }

    /// <summary>
    /// The stream's parameters: the query of a GET; the form body of a POST, whose URL carries
    /// none (one place for them, so nothing is given twice). The body limit is set before this reads it.
    /// </summary>
    private static async Task<IEnumerable<KeyValuePair<string, StringValues>>> ParametersOfAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
            return request.Query;
        if (request.Query.Count > 0)
            throw ApiException.BadRequest("a POST watch stream takes its parameters in the body (prefix=PATH&path=PATH&trust=true&after=INDEX), not in the URL");
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
            throw ApiException.BadRequest($"a POST watch stream's body must be application/x-www-form-urlencoded (prefix=PATH&path=PATH&trust=true&after=INDEX), not '{request.ContentType}'");
        try
        {
            return await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw ApiException.BadRequest($"the watch stream's form body could not be read: {e.Message}");
        }
    }

    /// <summary>The watches a request asks for; every problem is a 400 that names it.</summary>
    internal static List<WatchTarget> TargetsOf(IEnumerable<KeyValuePair<string, StringValues>> parameters, int maxWatches)
    {
        var targets = new List<WatchTarget>();
        foreach (var (name, values) in parameters)
        {
            switch (name)
            {
                case "prefix":
                case "path":
                    foreach (var value in values)
                        targets.Add(new WatchTarget(name == "prefix" ? WatchKind.Prefix : WatchKind.Exact, NodePathOf(name, value)));
                    break;
                case "trust":
                    if (Query.Bool("trust", values.ToString(), present: true))
                        targets.Add(WatchTarget.Trust);
                    break;
                case "after":
                case "data":
                    break;
                default:
                    throw ApiException.BadRequest($"unknown parameter '{name}'; a watch stream takes prefix=PATH, path=PATH, trust=true, data=true and after=INDEX");
            }
        }
        if (targets.Count == 0)
            throw ApiException.BadRequest("a watch stream needs at least one watch: prefix=PATH (a node and everything below it), path=PATH (one node) or trust=true (the CA's trust bundle)");
        if (targets.Count > maxWatches)
            throw new ApiException(StatusCodes.Status400BadRequest, ApiErrors.TooManyWatches, $"{targets.Count} watches on one stream; at most {maxWatches} are allowed (--max-watches-per-stream)");
        return targets;
    }

    private static string NodePathOf(string parameter, string? value)
    {
        if (string.IsNullOrEmpty(value) || !NodePath.IsValid(value))
            throw new ApiException(StatusCodes.Status400BadRequest, ApiErrors.InvalidPath, $"{parameter}='{value}' is not a valid node path (absolute, like /services/catalog)");
        CaGuard.Check(value, subtree: false);
        return value;
    }

    /// <summary>The per-caller limit counts by address and credential: sidecars on one host sharing a join token share it.</summary>
    private static string CallerOf(HttpContext context)
    {
        var who = ApiAccessFilter.CallerOf(context) switch
        {
            ApiCaller.Operator { Role: ApiTokenRole.Admin } => "an admin token",
            ApiCaller.Operator => "a read token",
            ApiCaller.Workload workload => $"a join token for {workload.Scope}",
            _ => "no token",
        };
        return $"{context.Connection.RemoteIpAddress} with {who}";
    }

    /// <summary>
    /// Copies one stream's records to its response and keeps track of the index the reader can
    /// resume after. While it has nothing to write it is parked on its stream, and the fan-out's
    /// pump runs it (<see cref="RunParked"/>) when there is: most deliveries are then a write and a
    /// flush that completes at once, on the pump's thread, with no wake-up of this request's task.
    /// Only a flush that has to wait for the socket, the stream's end or an abort hands the work
    /// back to the request's task (<see cref="_resume"/>). One of the two runs the writer at a time.
    /// </summary>
    internal sealed class StreamWriter(HttpContext context, WatchStream stream, WatchFanout fanout) : IParkedWriter
    {
        private readonly PipeWriter _body = context.Response.BodyWriter;
        private readonly List<(long Index, byte[] Line)> _batch = [];
        private readonly CancellationToken _aborted = context.RequestAborted;

        // Every matching change up to here has been written.
        private long _complete = stream.After;
        private long _lastProgress = -1;
        private long _tick = fanout.Ticks;
        private bool _first = true;
        private int _open = 1;

        // Set while parked: completed by the pump with the flush the request's task must finish
        // (null: nothing to finish, just look at the stream again).
        private TaskCompletionSource<ValueTask<FlushResult>?>? _resume;

        public async Task RunAsync()
        {
            try
            {
                await WriteAsync().ConfigureAwait(false);
            }
            finally
            {
                // Kestrel reuses the body writer for the connection's next request: an interruption queued late must not reach it.
                Volatile.Write(ref _open, 0);
            }
        }

        private async Task WriteAsync()
        {
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/x-ndjson";
            response.Headers.CacheControl = "no-store";
            response.Headers["X-Mesh-Index"] = stream.StartIndex.ToString(CultureInfo.InvariantCulture);
            stream.Interrupted = () =>
            {
                if (Volatile.Read(ref _open) == 1)
                    _body.CancelPendingFlush();
            };
            // Registered once for the stream's life, not once per wait.
            using var wakeOnAbort = _aborted.UnsafeRegister(static s => ((WatchStream)s!).Wake(), stream);
            while (true)
            {
                var step = Fill();
                if (step == Step.Ended)
                {
                    await FinishAsync().ConfigureAwait(false);
                    return;
                }
                if (step == Step.Flush)
                {
                    var flushed = await _body.FlushAsync(_aborted).ConfigureAwait(false);
                    if (flushed.IsCompleted)
                        return;
                    if (flushed.IsCanceled)
                        continue;
                }
                var resume = new TaskCompletionSource<ValueTask<FlushResult>?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _resume = resume;
                if (!stream.Park(this))
                {
                    _resume = null;
                    continue;
                }
                if (await resume.Task.ConfigureAwait(false) is { } pending)
                {
                    var flushed = await pending.ConfigureAwait(false);
                    if (flushed.IsCompleted)
                        return;
                }
                _aborted.ThrowIfCancellationRequested();
            }
        }

        /// <summary>On the pump's thread: write and flush what there is; park again unless the flush must wait or the stream is done.</summary>
        public void RunParked()
        {
            var resume = _resume!;
            try
            {
                while (true)
                {
                    if (_aborted.IsCancellationRequested)
                        break;
                    var step = Fill();
                    if (step == Step.Ended)
                        break;
                    if (step == Step.Flush)
                    {
                        var flush = _body.FlushAsync(_aborted);
                        if (!flush.IsCompletedSuccessfully)
                        {
                            // The socket is behind: the request's task waits for it, not the pump.
                            _resume = null;
                            resume.TrySetResult(flush);
                            return;
                        }
                        var flushed = flush.Result;
                        if (flushed.IsCompleted || flushed.IsCanceled)
                        {
                            _resume = null;
                            resume.TrySetResult(new ValueTask<FlushResult>(flushed));
                            return;
                        }
                    }
                    if (stream.Park(this))
                        return;
                }
                _resume = null;
                resume.TrySetResult(null);
            }
            catch (Exception e)
            {
                // The request's task rethrows it where its own flush would have thrown.
                _resume = null;
                resume.TrySetException(e);
            }
        }

        private enum Step
        {
            Nothing,
            Flush,
            Ended,
        }

        /// <summary>
        /// Writes the queued records, and the progress mark when one is due, into the response
        /// (no I/O: the flush does that). Ended: the stream was cut or ended, its last record is next.
        /// </summary>
        private Step Fill()
        {
            var wrote = false;
            while (true)
            {
                var dispatched = fanout.DispatchedIndex;
                _batch.Clear();
                stream.Drain(_batch);
                var last = 0L;
                foreach (var (index, line) in _batch)
                {
                    // Records of an index follow all records of lower indexes.
                    _complete = Math.Max(_complete, index - 1);
                    _body.Write(line);
                    last = index;
                }
                wrote |= last > 0;
                if (stream.CutAt >= 0 || stream.EndReason is not null)
                    return Step.Ended;
                if (stream.WithData && last > dispatched)
                {
                    // Taken while the apply loop was still queueing this index: take the rest of it
                    // now (a wait of at most one change's fan-out), so the progress mark that
                    // completes it goes out with them.
                    fanout.WaitForDispatch();
                    continue;
                }
                // Queue empty, not cut: everything dispatched before the drain is written.
                _complete = Math.Max(_complete, dispatched);
                var ticks = fanout.Ticks;
                if ((_first || ticks != _tick || (stream.WithData && wrote)) && _complete > _lastProgress)
                {
                    _body.Write(fanout.ProgressLine(_complete));
                    _lastProgress = _complete;
                    stream.ReportedIndex = _complete;
                    wrote = true;
                }
                _tick = ticks;
                _first = false;
                // Nothing written (a wake with nothing to say): no flush, which would cost the socket's sender a turn.
                return wrote ? Step.Flush : Step.Nothing;
            }
        }

        /// <summary>The last record: where to resume, and why the stream ends. A reader that does not take even that loses its connection.</summary>
        private async Task FinishAsync()
        {
            var cut = stream.CutAt;
            var reason = cut >= 0
                ? $"the reader fell more than {fanout.Options.BufferRecords} records behind (at index {cut}); reconnect with after={_complete}"
                : $"{stream.EndReason}; reconnect with after={_complete}";
            _body.Write(WatchRecords.Line(new WatchStreamRecord(WatchStreamRecord.Resume, _complete, Message: reason)));
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_aborted);
            deadline.CancelAfter(FinalFlush);
            try
            {
                // The cut may have cancelled the flush in progress, which leaves one cancelled flush to come.
                for (var attempt = 0; attempt < 2; attempt++)
                {
                    if (!(await _body.FlushAsync(deadline.Token).ConfigureAwait(false)).IsCanceled)
                        break;
                }
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                context.Abort();
            }
        }
    }
}
