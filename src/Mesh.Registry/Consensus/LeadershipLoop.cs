using Mesh.Common.Time;

namespace Mesh.Registry.Consensus;

/// <summary>
/// The shape of every leader-only job (session expiry, CA bootstrap): wait until this node leads,
/// run the job with a token that is cancelled when the term ends, and start over at the next term
/// won. Proposals that fail because leadership or the quorum was lost meanwhile are retried on the
/// <see cref="RetryLoop"/>'s backoff. Ends quietly when <c>stop</c> is cancelled.
/// </summary>
internal static class LeadershipLoop
{
    public static async Task RunAsync(
        IConsensus consensus, Func<CancellationToken, Task> lead, RetryLoop retry, TimeSpan followerPoll, TimeProvider time,
        Action<Exception> failed, CancellationToken stop)
    {
        try
        {
            await retry.RunAsync(async (_, token) =>
            {
                // Not "while (true)": a job ends normally when its token is cancelled (a ticker
                // does), and a stopping node must not start it again at once, round after round.
                while (!token.IsCancellationRequested)
                {
                    var leadership = consensus.LeadershipToken;
                    if (leadership.IsCancellationRequested)
                    {
                        await Task.Delay(followerPoll, time, token).ConfigureAwait(false);
                        continue;
                    }

                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, leadership);
                    try
                    {
                        await lead(linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!token.IsCancellationRequested)
                    {
                        // Lost leadership: wait for the next term.
                    }
                }
            }, (e, _) => failed(e), stop, e => e is NotLeaderException or QuorumUnavailableException or OutcomeUnknownException).ConfigureAwait(false);
        }
        catch (InvalidOperationException e) when (stop.IsCancellationRequested || e is ObjectDisposedException)
        {
            // The consensus was disposed under us while the node stops.
        }
    }
}
