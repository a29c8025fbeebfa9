using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

public sealed partial class RegistryClient
{
    /// <summary>Longest watch query sent in the URL; longer ones go in a POST body.</summary>
    internal const int MaxStreamQueryLength = 4096;

    /// <summary>
    /// A streaming watch (<c>GET /v1/watch-stream</c>): every change after <paramref name="after"/>
    /// that <paramref name="watches"/> cover, in index order, each exactly once, with the server's
    /// progress marks between them, over one connection. When the connection breaks, the node stops
    /// or cuts a slow reader off, it reconnects (to the next address) and resumes after the last
    /// index it had whole, skipping the records of a half-delivered index it already yielded.
    /// Throws <see cref="RegistryException"/> with code <c>IndexCompacted</c> when no node keeps the
    /// history back to where it must resume (re-read, then watch from the read's index), and for a
    /// request the registry refuses (<c>BadRequest</c>, <c>TooManyWatches</c>, <c>Forbidden</c>).
    /// </summary>
    public IAsyncEnumerable<WatchStreamRecord> StreamWatchAsync(
        IReadOnlyList<StreamWatch> watches, long after, CancellationToken cancellationToken = default) =>
        StreamWatchAsync(watches, after, withData: false, cancellationToken);

    /// <summary>
    /// <see cref="StreamWatchAsync(IReadOnlyList{StreamWatch}, long, CancellationToken)"/>; with
    /// <paramref name="withData"/> (<c>data=true</c>) a creation or data change of a small node
    /// carries its data (<see cref="WatchStreamRecord.Data"/>) and every write of the stream that
    /// completes an index ends with a progress mark. A registry without it answers
    /// <c>BadRequest</c> naming the parameter (<see cref="IsDataRefused"/>).
    /// </summary>
    public async IAsyncEnumerable<WatchStreamRecord> StreamWatchAsync(
        IReadOnlyList<StreamWatch> watches, long after, bool withData, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(after);
        if (watches.Count == 0)
            throw new ArgumentException("a watch stream needs at least one watch", nameof(watches));
        foreach (var watch in watches)
        {
            if (watch.Kind != StreamWatchKind.TrustBundle)
                _ = EscapePath(watch.Path); // checks it is absolute
        }
        var resume = new StreamResume(after);
        var query = string.Join('&', watches.Select(w => w.Query)) + (withData ? "&data=true" : "");
        // The server's request line holds 8 KiB: more watches go in a form body (POST, the same parameters).
        var post = query.Length > MaxStreamQueryLength;
        while (true)
        {
            var parameters = $"{query}&after={resume.Complete.ToString(CultureInfo.InvariantCulture)}";
            var (response, endpoint) = await _transport.OpenStreamAsync(
                address => post
                    ? new HttpRequestMessage(HttpMethod.Post, new Uri(address, "v1/watch-stream"))
                    {
                        Content = new StringContent(parameters, System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"),
                    }
                    : new HttpRequestMessage(HttpMethod.Get, new Uri(address, "v1/watch-stream?" + parameters)),
                cancellationToken).ConfigureAwait(false);
            using (response)
            {
                resume.Reconnected();
                var reader = new WatchRecordReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
                // One idle deadline per connection, moved on before each read of the socket (not per record).
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                while (true)
                {
                    WatchStreamRecord? record;
                    try
                    {
                        record = reader.TryRead(out var buffered) ? buffered : await ReadRecordAsync(reader, idle, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is IOException or HttpRequestException or JsonException or TimeoutException)
                    {
                        break; // a broken or silent connection: resume elsewhere
                    }
                    if (record is null)
                        break;
                    if (record.Type == WatchStreamRecord.Resume)
                    {
                        resume.Sent(record.Index);
                        break;
                    }
                    if (resume.Take(record))
                        yield return record;
                }
            }
            _transport.MoveOn(endpoint);
        }
    }

    /// <summary>The next record read off the socket, or null at the end; a connection silent for longer than <see cref="RegistryClientOptions.WatchStreamIdleTimeout"/> throws <see cref="TimeoutException"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<WatchStreamRecord?> ReadRecordAsync(WatchRecordReader reader, CancellationTokenSource idle, CancellationToken cancellationToken)
    {
        idle.CancelAfter(Options.WatchStreamIdleTimeout);
        try
        {
            return await reader.ReadAsync(idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the watch stream said nothing for {Options.WatchStreamIdleTimeout.TotalSeconds:0} s");
        }
        finally
        {
            // The consumer's time with the records is not the connection's silence.
            idle.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>A registry from before <c>data=true</c> refuses the parameter by name.</summary>
    internal static bool IsDataRefused(RegistryException e) =>
        e.Code == RegistryErrorCodes.BadRequest && e.Message.Contains("unknown parameter 'data'", StringComparison.Ordinal);
}
