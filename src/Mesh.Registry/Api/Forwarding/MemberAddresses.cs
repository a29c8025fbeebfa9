using System.Collections.Concurrent;
using System.Net;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Api.Forwarding;

/// <summary>
/// Where each member serves clients: the <c>@client</c> addresses of --peers first, else the
/// address a member publishes to the cluster (asked once, then cached until a connection to it
/// fails). Used to forward to the leader and to ask peers for their status.
/// </summary>
internal sealed class MemberAddresses
{
    private readonly Func<int, CancellationToken, ValueTask<IPEndPoint?>> _published;
    private readonly ConcurrentDictionary<int, Uri> _publishedUrls = new();
    private readonly string _scheme;
    private readonly Dictionary<int, Uri> _configured;

    /// <param name="members">Client addresses given in --peers (<c>@client</c>) win over published ones.</param>
    /// <param name="published">A member's client address as it publishes it to the cluster (member metadata).</param>
    public MemberAddresses(IReadOnlyList<ClusterMember> members, Func<int, CancellationToken, ValueTask<IPEndPoint?>> published, string scheme = "http")
    {
        _scheme = scheme;
        _published = published;
        _configured = members.Where(m => m.ClientEndPoint is not null)
            .ToDictionary(m => m.Id, m => new Uri($"{scheme}://{m.ClientEndPoint}"));
    }

    /// <summary>The client URL of member <paramref name="id"/> if known without asking it.</summary>
    public Uri? Known(int id) => _configured.GetValueOrDefault(id) ?? _publishedUrls.GetValueOrDefault(id);

    /// <summary>The client URL of member <paramref name="id"/>: from --peers, else as it publishes it (asked once, then cached).</summary>
    public async ValueTask<Uri?> ResolveAsync(int id, CancellationToken cancellationToken)
    {
        if (Known(id) is { } known)
            return known;
        if (await _published(id, cancellationToken).ConfigureAwait(false) is not { } endPoint)
            return null;
        return _publishedUrls[id] = new Uri($"{_scheme}://{endPoint}");
    }

    /// <summary>Drops a published address that refused a connection: the member may have restarted elsewhere, so it is asked again next time.</summary>
    public void Forget(int id) => _publishedUrls.TryRemove(id, out _);

}
