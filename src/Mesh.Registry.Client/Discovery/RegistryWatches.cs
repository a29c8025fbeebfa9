using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Mesh.Common.Time;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// Streams of immutable snapshots built on the registry's index-based watches: a first snapshot
/// at once, then a new one after every change, resuming from the last index seen after a
/// reconnect or a failover, so no change is skipped (several quick changes may arrive as one
/// snapshot that reflects all of them). With <see cref="RegistryClientOptions.StreamWatches"/>
/// (the default) every watch of one client rides its one streaming watch
/// (<see cref="RegistryWatcher"/>); otherwise, or against a registry without streaming watches,
/// each is a long poll of its own.
/// </summary>
public static class RegistryWatches
{
    private static bool Streams(RegistryClient client) => client.Options.StreamWatches && !client.Watcher.Unsupported;

    // A registry that does not answer is asked again soon, then less often (up to 1 s).
    private static readonly Backoff RetryBackoff = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1));

    private static RetryLoop Retry(RegistryClient client) => new(RetryBackoff, client.Options.TimeProvider);

    /// <summary>The live instances of <paramref name="service"/> (and its owner), now and after each change.</summary>
    public static async IAsyncEnumerable<EndpointSet> WatchServiceAsync(
        this RegistryClient client, string service, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var set in StreamOrPollAsync(client, token => StreamServiceAsync(client, service, token),
            (from, token) => PollServiceAsync(client, service, from?.Index, token), cancellationToken).ConfigureAwait(false))
            yield return set;
    }

    /// <summary>
    /// The stream's snapshots while the client streams watches; long polls otherwise, or from the
    /// last snapshot on once the registry turns out to have no streaming watches (an older version).
    /// </summary>
    private static async IAsyncEnumerable<T> StreamOrPollAsync<T>(
        RegistryClient client, Func<CancellationToken, IAsyncEnumerable<T>> stream, Func<T?, CancellationToken, IAsyncEnumerable<T>> poll,
        [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        T? last = null;
        if (Streams(client))
        {
            var snapshots = stream(cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    try
                    {
                        if (!await snapshots.MoveNextAsync().ConfigureAwait(false))
                            yield break;
                    }
                    catch (RegistryException) when (client.Watcher.Unsupported)
                    {
                        break;
                    }
                    last = snapshots.Current;
                    yield return last;
                }
            }
            finally
            {
                await snapshots.DisposeAsync().ConfigureAwait(false);
            }
        }
        await foreach (var snapshot in poll(last, cancellationToken).ConfigureAwait(false))
            yield return snapshot;
    }

    /// <summary>
    /// The service's instances read once, then after each change the stream reports: applied from
    /// the records when the stream carried them whole (<c>data=true</c>), otherwise read with a
    /// blocking query just before the change's index, which the node the stream came from answers
    /// at once from its own state (no trip to the leader) and any other node once it applied it.
    /// </summary>
    private static async IAsyncEnumerable<EndpointSet> StreamServiceAsync(
        RegistryClient client, string service, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var retry = Retry(client);
        var failures = 0;
        EndpointSet? last = null;
        while (last is null)
        {
            try
            {
                last = await client.GetServiceAsync(service, null, null, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
            }
        }
        using var subscription = client.Watcher.Subscribe(StreamWatch.Prefix(ServicePaths.Service(service)), last.Index);
        yield return last;
        while (true)
        {
            var change = await subscription.NextChangeAsync(last.Index, cancellationToken).ConfigureAwait(false);
            if (change.Records is { } records)
            {
                // The stream carried every change since the snapshot whole: no read.
                if (EndpointSetRecords.Apply(last, records, change.At) is not { } applied)
                {
                    subscription.Notify(records[^1].Index); // read it instead, retried like any read
                    continue;
                }
                if (!applied.SameInstancesAs(last))
                {
                    last = applied;
                    yield return applied;
                }
                else
                {
                    last = last with { Index = applied.Index };
                }
                continue;
            }
            var at = change.At;
            EndpointSet next;
            try
            {
                next = at == RegistryWatcher.Subscription.Reread
                    ? await client.GetServiceAsync(service, null, null, cancellationToken).ConfigureAwait(false)
                    : await client.GetServiceAsync(service, at - 1, null, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (RegistryException e) when (!cancellationToken.IsCancellationRequested && e.Code == RegistryErrorCodes.IndexCompacted)
            {
                // The node no longer keeps the history the blocking query waits on: read it whole
                // (through the loop, so a failure of that read is retried like any other).
                subscription.AskReread();
                continue;
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                subscription.ReadFailed(at);
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (next.Index > last.Index && !next.SameInstancesAs(last))
            {
                last = next;
                yield return next;
            }
            else if (next.Index > last.Index)
            {
                last = last with { Index = next.Index };
            }
        }
    }

    private static async IAsyncEnumerable<EndpointSet> PollServiceAsync(
        RegistryClient client, string service, long? from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EndpointSet? last = null;
        var retry = Retry(client);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            EndpointSet? next;
            try
            {
                next = await client.GetServiceAsync(service, last?.Index ?? from, null, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (last is null || next.Index > last.Index && !next.SameInstancesAs(last))
            {
                last = next;
                yield return next;
            }
            else if (next.Index > last.Index)
            {
                last = last with { Index = next.Index };
            }
        }
    }

    /// <summary>
    /// The documents directly under <paramref name="prefix"/> (e.g. <c>/config/routes</c>), now and
    /// after each change. A missing prefix is an empty snapshot.
    /// </summary>
    public static async IAsyncEnumerable<ConfigSnapshot> WatchConfigAsync(
        this RegistryClient client, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var snapshot in StreamOrPollAsync(client, token => StreamConfigAsync(client, prefix, token),
            (from, token) => PollConfigAsync(client, prefix, from, token), cancellationToken).ConfigureAwait(false))
            yield return snapshot;
    }

    /// <summary>
    /// The documents read once, then again after each change the stream reports under the prefix,
    /// or, when the stream carried the changes whole (<c>data=true</c>), with them applied.
    /// </summary>
    private static async IAsyncEnumerable<ConfigSnapshot> StreamConfigAsync(
        RegistryClient client, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var retry = Retry(client);
        var failures = 0;
        ConfigSnapshot? last = null;
        while (last is null)
        {
            try
            {
                last = await ReadConfigAsync(client, prefix, null, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
            }
        }
        using var subscription = client.Watcher.Subscribe(StreamWatch.Prefix(prefix), last.Index);
        yield return last;
        while (true)
        {
            var change = await subscription.NextChangeAsync(last.Index, cancellationToken).ConfigureAwait(false);
            if (change.Records is { } records)
            {
                if (Advance(ref last, ConfigSnapshotRecords.Apply(last, records, change.At)))
                    yield return last;
                continue;
            }
            var at = change.At;
            ConfigSnapshot next;
            try
            {
                // At the change's index: the node the stream came from answers from its own state at once.
                next = await ReadConfigAsync(client, prefix, at == RegistryWatcher.Subscription.Reread ? null : at, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                subscription.ReadFailed(at);
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (Advance(ref last, next))
                yield return last;
        }
    }

    /// <summary>
    /// The CA's trust bundle (<c>GET /v1/ca/root</c>), now and after each change of its roots,
    /// which the streaming watch reports (<c>trust=true</c>). Needs streaming watches.
    /// </summary>
    public static async IAsyncEnumerable<CaRootResponse> WatchTrustBundleAsync(
        this RegistryClient client, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var retry = Retry(client);
        var failures = 0;
        // The index first, the bundle after: a change between the two is told, and read again.
        var from = -1L;
        CaRootResponse? last = null;
        while (last is null)
        {
            try
            {
                if (from < 0)
                    from = await client.CurrentIndexAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                last = await client.GetCaRootAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
            }
        }
        using var subscription = client.Watcher.Subscribe(StreamWatch.TrustBundle, from);
        yield return last;
        var seen = from;
        while (true)
        {
            long at;
            try
            {
                at = (await subscription.NextChangeAsync(seen, cancellationToken).ConfigureAwait(false)).At;
            }
            catch (RegistryException) when (client.Watcher.Unsupported)
            {
                at = -1; // an older registry has no stream to tell: certificate renewals re-read the bundle
            }
            if (at < 0)
                yield break;
            CaRootResponse next;
            try
            {
                next = await client.GetCaRootAsync(cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                // Told again on the next turn: the bundle is read until a read gets through.
                subscription.ReadFailed(at);
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
                continue;
            }
            seen = at == RegistryWatcher.Subscription.Reread ? seen : Math.Max(seen, at);
            if (next != last)
            {
                last = next;
                yield return next;
            }
        }
    }

    private static async IAsyncEnumerable<ConfigSnapshot> PollConfigAsync(
        RegistryClient client, string prefix, ConfigSnapshot? from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ConfigSnapshot? last = from;
        var retry = Retry(client);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            ConfigSnapshot? next = null;
            try
            {
                if (last is not null)
                {
                    // Block until something under the prefix changed after what we have.
                    var changes = await client.WatchOnceAsync(prefix, last.Index, recursive: true, cancellationToken: cancellationToken).ConfigureAwait(false);
                    if (changes.Events.Count == 0)
                    {
                        last = last with { Index = Math.Max(last.Index, changes.Index) };
                        continue;
                    }
                }

                next = await ReadConfigAsync(client, prefix, null, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.IndexCompacted)
            {
                // History moved past us: a fresh read is a complete picture again.
                next = await ReadConfigAsync(client, prefix, null, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (last is null)
            {
                last = next;
                yield return next;
            }
            else if (Advance(ref last, next))
            {
                yield return last;
            }
        }
    }

    /// <summary>
    /// Moves <paramref name="last"/> on to what <paramref name="next"/> read: true (a new snapshot to
    /// hand out) when the documents differ; otherwise only the index moves, so the next watch starts
    /// after what was read. An index never goes back (a read at a lagging node is older).
    /// </summary>
    private static bool Advance(ref ConfigSnapshot last, ConfigSnapshot next)
    {
        var changed = !SameDocuments(last, next);
        last = (changed ? next : last) with { Index = Math.Max(last.Index, next.Index) };
        return changed;
    }

    /// <summary>
    /// Reads every document under the prefix with the listing, in one request: at
    /// <paramref name="minIndex"/> from the answering node's applied state, linearizable without it.
    /// The snapshot's index is the listing's: a change after it is seen by the next watch. From a
    /// registry that sends no data with the listing (an older version) each document is read after it.
    /// </summary>
    private static async Task<ConfigSnapshot> ReadConfigAsync(RegistryClient client, string prefix, long? minIndex, CancellationToken cancellationToken)
    {
        NodeChildren listing;
        IReadOnlyList<ReadOnlyMemory<byte>>? data;
        try
        {
            (listing, data) = await client.GetChildrenWithDataAsync(prefix, minIndex, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.NoNode)
        {
            return new ConfigSnapshot(prefix, ex.Index ?? 0, ImmutableSortedDictionary<string, byte[]>.Empty);
        }

        var documents = ImmutableSortedDictionary.CreateBuilder<string, byte[]>(StringComparer.Ordinal);
        if (data is not null)
        {
            for (var i = 0; i < listing.Children.Count; i++)
                documents[listing.Children[i]] = data[i].ToArray();
            return new ConfigSnapshot(prefix, listing.Index, documents.ToImmutable());
        }
        foreach (var name in listing.Children)
        {
            var node = await client.TryGetAsync($"{prefix.TrimEnd('/')}/{name}", cancellationToken: cancellationToken).ConfigureAwait(false);
            if (node is not null)
                documents[name] = node.Data;
        }

        return new ConfigSnapshot(prefix, listing.Index, documents.ToImmutable());
    }

    private static bool SameDocuments(ConfigSnapshot a, ConfigSnapshot b) =>
        a.Documents.Count == b.Documents.Count &&
        a.Documents.All(kv => b.Documents.TryGetValue(kv.Key, out var other) && kv.Value.AsSpan().SequenceEqual(other));
}
