using Mesh.Common.Time;
using Mesh.Registry.Api.Status;
using Mesh.Registry.Consensus;

namespace Mesh.Registry.Telemetry;

/// <summary>
/// Keeps the leader's view of how far each member trails it, for the gauge
/// <c>mesh.registry.member.lag</c>: every <see cref="RefreshInterval"/>, while this node leads, it
/// asks each other member for its applied index (the same peer status call as <c>/v1/status</c>)
/// and stores commit index minus that; the leader's own entry is its local apply lag. A member
/// that does not answer has no entry. On a node that does not lead the table is empty. A scrape
/// only reads the table, so it never causes I/O.
/// </summary>
internal sealed class MemberLagMonitor(IConsensus consensus, PeerStatusClient peers, string? authorization, TimeProvider time) : IAsyncDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan PeerTimeout = TimeSpan.FromMilliseconds(500);

    private readonly CancellationTokenSource _stop = new();
    private IReadOnlyDictionary<int, long> _lags = new Dictionary<int, long>();
    private Task _loop = Task.CompletedTask;

    /// <summary>Member id → entries it trails the leader's commit index by; empty unless this node leads.</summary>
    public IReadOnlyDictionary<int, long> Lags => Volatile.Read(ref _lags);

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private Task RunAsync(CancellationToken stop) => Ticker.RunAsync(RefreshInterval, async token =>
    {
        IReadOnlyDictionary<int, long> lags;
        try
        {
            lags = await RefreshAsync(token).ConfigureAwait(false);
        }
        catch (Exception) when (!token.IsCancellationRequested)
        {
            // E.g. the consensus is stopping; the table is left out until a refresh works again.
            lags = new Dictionary<int, long>();
        }
        catch (Exception)
        {
            return false;
        }
        Volatile.Write(ref _lags, lags);
        return true;
    }, stop, time);

    private async Task<IReadOnlyDictionary<int, long>> RefreshAsync(CancellationToken stop)
    {
        var lags = new Dictionary<int, long>();
        if (consensus.Role is not (ConsensusRole.Leader or ConsensusRole.Standalone))
            return lags;
        var remote = consensus.Members.Where(m => !m.IsLocal).Select(m => m.Id).ToArray();
        var applied = await peers.AppliedIndexesAsync(remote, authorization, PeerTimeout, stop).ConfigureAwait(false);
        // Read after the answers, so a member that applied an entry committed meanwhile is not shown ahead.
        var commit = consensus.CommitIndex;
        if (consensus.Role is not (ConsensusRole.Leader or ConsensusRole.Standalone))
            return lags;
        lags[consensus.LocalId] = Math.Max(0, commit - consensus.AppliedIndex);
        for (var i = 0; i < remote.Length; i++)
        {
            if (applied[i] is { } index)
                lags[remote[i]] = Math.Max(0, commit - index);
        }
        return lags;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
