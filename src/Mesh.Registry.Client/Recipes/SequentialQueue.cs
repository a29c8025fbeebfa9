using System.Globalization;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Recipes;

/// <summary>
/// The ZooKeeper queue recipe that locks and elections share: each contender creates an
/// ephemeral-sequential node under a directory, the lowest sequence number holds, and every
/// other contender watches only the node just ahead of it (no herd effect). A holder whose
/// session dies loses its node, so the next one takes over.
/// </summary>
internal static class SequentialQueue
{
    private const string Prefix = "n_";

    /// <summary>Joins the queue under <paramref name="directory"/> and returns once we are first in line.</summary>
    public static async Task<LockHandle> AcquireAsync(RegistrySession session, string directory, byte[] data, CancellationToken cancellationToken)
    {
        var created = await session.Client.CreateAsync(
            $"{directory}/{Prefix}", data, CreateMode.EphemeralSequential, session.Id, createParents: true, cancellationToken).ConfigureAwait(false);
        try
        {
            await WaitForTurnAsync(session.Client, directory, created.Path, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await LockHandle.DeleteQuietlyAsync(session.Client, created.Path).ConfigureAwait(false);
            throw;
        }

        return new LockHandle(session, created.Path);
    }

    /// <summary>Waits until <paramref name="ourPath"/> is first in line.</summary>
    public static async Task WaitForTurnAsync(RegistryClient client, string directory, string ourPath, CancellationToken cancellationToken)
    {
        var ourName = ourPath[(ourPath.LastIndexOf('/') + 1)..];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var listing = await client.GetChildrenAsync(directory, cancellationToken: cancellationToken).ConfigureAwait(false);
            var ordered = Order(listing.Children);
            var position = ordered.IndexOf(ourName);
            if (position < 0)
                throw new RegistryException(RegistryErrorCodes.NoNode, $"our queue node {ourPath} is gone (session expired?)");
            if (position == 0)
                return;

            var predecessor = $"{directory}/{ordered[position - 1]}";
            await WaitForDeletionAsync(client, predecessor, listing.Index, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The first node's data, or null when nobody is in line.</summary>
    public static async Task<NodeData?> HeadAsync(RegistryClient client, string directory, CancellationToken cancellationToken)
    {
        NodeChildren listing;
        try
        {
            listing = await client.GetChildrenAsync(directory, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.NoNode)
        {
            return null;
        }

        foreach (var name in Order(listing.Children))
        {
            var node = await client.TryGetAsync($"{directory}/{name}", cancellationToken: cancellationToken).ConfigureAwait(false);
            if (node is not null)
                return node;
        }

        return null;
    }

    private static async Task WaitForDeletionAsync(RegistryClient client, string path, long after, CancellationToken cancellationToken)
    {
        var index = after;
        while (true)
        {
            var changes = await client.WatchOnceAsync(path, index, recursive: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (changes.Events.Any(e => e.Type == ChangeEvent.Deleted && e.Path == path))
                return;
            index = changes.Index;
            if (changes.Events.Count == 0 && !await client.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
                return;
        }
    }

    /// <summary>Sorts by the 10-digit sequence suffix, the order the registry handed them out.</summary>
    private static List<string> Order(IEnumerable<string> names) =>
        [.. names.Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .OrderBy(n => long.TryParse(n.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : long.MaxValue)];
}
