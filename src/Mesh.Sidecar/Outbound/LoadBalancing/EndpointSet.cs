// An immutable set of endpoints to pick from (healthy members of one service, or of one version
// of it), with the cumulative weights precomputed once per snapshot so a weighted pick is a
// binary search with no allocation.
namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal sealed class EndpointSet
{
    public static readonly EndpointSet Empty = new([]);

    private readonly long[] _cumulativeWeights;

    // Shared cursor for RoundRobinPolicy; lives with the set so a new snapshot starts afresh.
    public int RoundRobinCursor;

    public EndpointSet(EndpointState[] candidates)
    {
        // Weight 0 means "send nothing" unless every endpoint has weight 0 (then all are equal).
        var weighted = candidates.Where(e => e.Endpoint.Weight > 0).ToArray();
        Endpoints = weighted.Length > 0 ? weighted : candidates;
        _cumulativeWeights = new long[Endpoints.Length];
        long total = 0;
        for (var i = 0; i < Endpoints.Length; i++)
        {
            total += weighted.Length > 0 ? Endpoints[i].Endpoint.Weight : 1;
            _cumulativeWeights[i] = total;
        }
        TotalWeight = total;
    }

    public EndpointState[] Endpoints { get; }

    public int Count => Endpoints.Length;

    public long TotalWeight { get; }

    /// <summary>The endpoint whose weight interval holds <paramref name="point"/> (0 ≤ point &lt; TotalWeight).</summary>
    public EndpointState AtWeight(long point)
    {
        // First index whose cumulative weight exceeds point.
        var weights = _cumulativeWeights;
        int low = 0, high = weights.Length - 1;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (weights[mid] > point)
                high = mid;
            else
                low = mid + 1;
        }
        return Endpoints[low];
    }
}
