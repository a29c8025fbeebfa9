using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Mesh.Common.Time;

namespace Mesh.Registry.Client;

/// <summary>
/// Streams of immutable snapshots built on the registry's index-based watches: a first snapshot
/// at once, then a new one after every change, resuming from the last index seen after a
/// reconnect or a failover, so no change is skipped (several quick changes may arrive as one
/// snapshot that reflects all of them).
/// </summary>
public static class RegistryWatches
{
    // A registry that does not answer is asked again soon, then less often (up to 1 s).
    private static readonly Backoff RetryBackoff = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1));

    private static RetryLoop Retry(RegistryClient client) => new(RetryBackoff, client.Options.TimeProvider);

    /// <summary>The live instances of <paramref name="service"/>, now and after each change.</summary>
    public static async IAsyncEnumerable<EndpointSet> WatchServiceAsync(
        this RegistryClient client, string service, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EndpointSet? last = null;
        var retry = Retry(client);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            EndpointSet? next;
            try
            {
                next = await client.GetServiceAsync(service, last?.Index, null, cancellationToken).ConfigureAwait(false);
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
        ConfigSnapshot? last = null;
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

                next = await ReadConfigAsync(client, prefix, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.IndexCompacted)
            {
                // History moved past us: a fresh read is a complete picture again.
                next = await ReadConfigAsync(client, prefix, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException) when (!cancellationToken.IsCancellationRequested)
            {
                await retry.DelayAfterAsync(++failures, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (last is null || !SameDocuments(last, next))
            {
                last = next;
                yield return next;
            }
            else
            {
                last = last with { Index = Math.Max(last.Index, next.Index) };
            }
        }
    }

    /// <summary>
    /// Reads every document under the prefix. The snapshot's index is the listing's: a change after
    /// it is seen by the next watch even when the reads of the documents already included it.
    /// </summary>
    private static async Task<ConfigSnapshot> ReadConfigAsync(RegistryClient client, string prefix, CancellationToken cancellationToken)
    {
        NodeChildren listing;
        try
        {
            listing = await client.GetChildrenAsync(prefix, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.NoNode)
        {
            return new ConfigSnapshot(prefix, ex.Index ?? 0, ImmutableSortedDictionary<string, byte[]>.Empty);
        }

        var documents = ImmutableSortedDictionary.CreateBuilder<string, byte[]>(StringComparer.Ordinal);
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
