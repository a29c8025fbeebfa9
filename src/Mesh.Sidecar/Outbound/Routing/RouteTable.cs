// The immutable routing snapshot. Routes are grouped per host at compile time (each host's list
// already holds the any-host routes in declaration order), so a request does one dictionary
// lookup on its Host header and walks a short array: no allocation.
using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Outbound.Routing;

internal enum RouteMatchStatus
{
    Matched,
    /// <summary>Routes exist for the host, but none matches path, method or headers.</summary>
    NoRoute,
    /// <summary>No route names the host, it names no known service, and no any-host route matches.</summary>
    UnknownService,
}

internal sealed class RouteTable
{
    public static readonly RouteTable Empty = new(0, [], new Dictionary<string, CompiledRoute[]>(), new Dictionary<string, CompiledRoute[]>(), []);

    private readonly FrozenDictionary<string, CompiledRoute[]>.AlternateLookup<ReadOnlySpan<char>> _byAuthority;
    private readonly FrozenDictionary<string, CompiledRoute[]>.AlternateLookup<ReadOnlySpan<char>> _byHost;
    private readonly CompiledRoute[] _anyHost;

    public RouteTable(
        long index,
        IReadOnlyList<CompiledRoute> routes,
        IDictionary<string, CompiledRoute[]> byAuthority,
        IDictionary<string, CompiledRoute[]> byHost,
        CompiledRoute[] anyHost)
    {
        Index = index;
        Routes = routes;
        _byAuthority = byAuthority.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();
        _byHost = byHost.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();
        _anyHost = anyHost;
    }

    /// <summary>The route source's index this table was built from.</summary>
    public long Index { get; }

    /// <summary>Every route, explicit ones first in match order, then implicit per-service routes.</summary>
    public IReadOnlyList<CompiledRoute> Routes { get; }

    public RouteMatchStatus Match(ReadOnlySpan<char> authority, string path, string method, IHeaderDictionary headers, out CompiledRoute? route)
    {
        var hostKnown = true;
        if (!_byAuthority.TryGetValue(authority, out var candidates)
            && !_byHost.TryGetValue(HostOf(authority), out candidates))
        {
            candidates = _anyHost;
            hostKnown = false;
        }
        foreach (var candidate in candidates)
        {
            if (candidate.Matches(path, method, headers))
            {
                route = candidate;
                return RouteMatchStatus.Matched;
            }
        }
        route = null;
        return hostKnown ? RouteMatchStatus.NoRoute : RouteMatchStatus.UnknownService;
    }

    /// <summary>The host part of an authority: "catalog:15001" → "catalog", "[::1]:80" → "::1".</summary>
    internal static ReadOnlySpan<char> HostOf(ReadOnlySpan<char> authority)
    {
        if (authority.Length > 0 && authority[0] == '[')
        {
            var close = authority.IndexOf(']');
            return close > 0 ? authority[1..close] : authority;
        }
        var colon = authority.LastIndexOf(':');
        return colon >= 0 ? authority[..colon] : authority;
    }
}
