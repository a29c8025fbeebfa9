// The request Uri of a forwarded request, built once per destination and path instead of once per
// request. Left unset, YARP's forwarder concatenates prefix, path and query into a string and
// parses a new Uri from it for every request, and HttpClient then computes the Uri's parts
// (path and query, authority) again for each one. A Uri is immutable and safe to share, so a
// path seen before reuses the one built the first time, with its parts already computed.
// Built by YARP's own RequestUtilities.MakeDestinationAddress, so it is the very Uri the
// forwarder would have made. Requests with a query string are left to the forwarder (queries
// rarely repeat), and so is every new path once MaxPaths are kept: the cache stays bounded
// whatever paths callers send.
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Forwarder;

internal sealed class DestinationUris(string prefix)
{
    /// <summary>How many paths one destination keeps; a hostile caller can fill it, but never grow it.</summary>
    public const int MaxPaths = 256;

    private readonly ConcurrentDictionary<string, Uri> _byPath = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>"scheme://host:port" (and path base), as given to the forwarder.</summary>
    public string Prefix => prefix;

    /// <summary>The Uri for <paramref name="request"/>, or null to let the forwarder build it.</summary>
    public Uri? For(HttpRequest request)
    {
        if (request.QueryString.HasValue)
            return null;
        var path = request.Path.Value ?? string.Empty;
        if (_byPath.TryGetValue(path, out var uri))
            return uri;
        if (Volatile.Read(ref _count) >= MaxPaths)
            return null;
        // A slot is taken before the add, so concurrent misses never keep more than MaxPaths.
        if (Interlocked.Increment(ref _count) > MaxPaths)
        {
            Interlocked.Decrement(ref _count);
            return null;
        }
        uri = RequestUtilities.MakeDestinationAddress(prefix, request.Path, QueryString.Empty);
        var kept = _byPath.GetOrAdd(path, uri);
        if (!ReferenceEquals(kept, uri))
            Interlocked.Decrement(ref _count);
        return kept;
    }
}
