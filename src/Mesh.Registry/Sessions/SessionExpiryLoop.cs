using Mesh.Common.Time;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Sessions;

/// <summary>
/// Runs on every node and acts only while it leads. On winning an election it first proposes
/// <see cref="ResetSessionDeadlines"/> (every session gets a fresh full TTL, so the time without a
/// leader, when nobody could keep alive, never expires anyone), then proposes
/// <see cref="ExpireSessions"/> with its clock whenever some replicated deadline has passed, and
/// at least every <see cref="IdleExpireInterval"/> so the core can prune idle dedup entries.
/// Keep-alives are ordinary replicated commands (see docs/registry.md, "Sessions"), so deadlines are the
/// same on every replica and expiry is one deterministic command.
/// </summary>
internal sealed partial class SessionExpiryLoop(
    IConsensus consensus, RegistryStore store, RegistryWriter writer, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(200);
    public static readonly TimeSpan IdleExpireInterval = TimeSpan.FromSeconds(30);

    private BackgroundLoop? _loop;

    public void Start() => (_loop = new BackgroundLoop(RunAsync)).Start();

    private Task RunAsync(CancellationToken stop) =>
        LeadershipLoop.RunAsync(consensus, LeadAsync, new RetryLoop(Backoff.Constant(CheckInterval), time), CheckInterval, time,
            e => Log.ProposalFailed(logger, e.Message), stop);

    private async Task LeadAsync(CancellationToken leading)
    {
        var reset = await writer.WriteAsync(new ResetSessionDeadlines(writer.Header(), writer.NowMs), leading).ConfigureAwait(false);
        Log.DeadlinesReset(logger, reset.Index);
        var lastExpire = time.GetTimestamp();
        await Ticker.RunAsync(CheckInterval, async token =>
        {
            var now = writer.NowMs;
            var due = store.Read(s =>
            {
                foreach (var session in s.GetSessions())
                {
                    if (session.DeadlineMs <= now)
                        return true;
                }
                return false;
            });
            if (!due && time.GetElapsedTime(lastExpire) < IdleExpireInterval)
                return;
            var result = await writer.WriteAsync(new ExpireSessions(writer.Header(), now), token).ConfigureAwait(false);
            lastExpire = time.GetTimestamp();
            if (result.ExpiredSessions.Count > 0)
                Log.Expired(logger, result.ExpiredSessions.Count, result.Index);
        }, leading, time, waitFirst: true).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _loop?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Leading: session deadlines reset at index {Index}")]
        public static partial void DeadlinesReset(ILogger logger, long index);

        [LoggerMessage(2, LogLevel.Information, "Expired {Count} sessions at index {Index}")]
        public static partial void Expired(ILogger logger, int count, long index);

        [LoggerMessage(3, LogLevel.Debug, "Session expiry proposal failed: {Message}")]
        public static partial void ProposalFailed(ILogger logger, string message);
    }
}
