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
    public async IAsyncEnumerable<WatchStreamRecord> StreamWatchAsync(
        IReadOnlyList<StreamWatch> watches, long after, [EnumeratorCancellation] CancellationToken cancellationToken = default)
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
        var query = string.Join('&', watches.Select(w => w.Query));
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
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                using var reader = new StreamReader(stream);
                while (true)
                {
                    WatchStreamRecord? record;
                    try
                    {
                        record = await ReadRecordAsync(reader, cancellationToken).ConfigureAwait(false);
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

    /// <summary>The next record, or null at the end; a connection silent for longer than <see cref="RegistryClientOptions.WatchStreamIdleTimeout"/> throws <see cref="TimeoutException"/>.</summary>
    private async Task<WatchStreamRecord?> ReadRecordAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(Options.WatchStreamIdleTimeout);
        string? line;
        try
        {
            line = await reader.ReadLineAsync(idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the watch stream said nothing for {Options.WatchStreamIdleTimeout.TotalSeconds:0} s");
        }
        return line is null ? null : JsonSerializer.Deserialize(line, RegistryJson.Default.WatchStreamRecord);
    }

    /// <summary>
    /// Where a streaming watch resumes: the last index whose records were all delivered, and how
    /// many records of the index after it were (a stream can break between two records of one
    /// command; every node sends an index's records in the same order, so those are skipped).
    /// </summary>
    private sealed class StreamResume(long after)
    {
        private long _partialIndex = -1;
        private int _partialCount;
        private long _skipIndex = -1;
        private int _skip;

        public long Complete { get; private set; } = after;

        public void Reconnected()
        {
            (_skipIndex, _skip) = _partialIndex > Complete ? (_partialIndex, _partialCount) : (-1, 0);
            _partialIndex = -1;
            _partialCount = 0;
        }

        /// <summary>The server says every record up to <paramref name="index"/> was sent.</summary>
        public void Sent(long index) => Complete = Math.Max(Complete, index);

        /// <summary>Notes a record; false when it was delivered before (or is older than where the stream resumed).</summary>
        public bool Take(WatchStreamRecord record)
        {
            if (record.Type == WatchStreamRecord.Progress)
            {
                Sent(record.Index);
                return record.Index >= Complete;
            }
            if (record.Index <= Complete)
                return false;
            // A record of a later index: every record before it was sent.
            Complete = Math.Max(Complete, record.Index - 1);
            if (record.Index != _partialIndex)
            {
                _partialIndex = record.Index;
                _partialCount = 0;
            }
            _partialCount++;
            if (record.Index == _skipIndex && _skip > 0)
            {
                _skip--;
                return false;
            }
            return true;
        }
    }
}
