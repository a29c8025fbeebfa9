using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Sessions;
using Mesh.Registry.Storage;

namespace Mesh.Registry.Api.Sessions;

/// <summary>
/// Finds a live session in this node's applied state. A session's id is the index of the command
/// that opened it, so a node that has not applied that index yet (a follower just behind the
/// leader the session was opened on) waits for it rather than calling the session unknown: up to
/// the request timeout (then 503) when it knows the index is committed, up to
/// <see cref="UncommittedIdWait"/> (then not found) when it does not.
/// </summary>
internal sealed class SessionLookup(IConsensus consensus, RegistryStore store, TimeSpan requestTimeout)
{
    /// <summary>How long an id past this node's commit index waits to be learnt of: several heartbeats.</summary>
    private static readonly TimeSpan UncommittedIdWait = TimeSpan.FromSeconds(1);

    public async Task<SessionInfo?> FindAsync(long id, CancellationToken cancellationToken)
    {
        var (found, session, applied) = store.Read(s => (s.TryGetSession(id, out var info), info, s.AppliedIndex));
        if (found)
            return session;
        if (id <= applied)
            return null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(requestTimeout);
        try
        {
            if (id > consensus.CommitIndex)
            {
                using var brief = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                brief.CancelAfter(UncommittedIdWait);
                try
                {
                    await consensus.WaitForAppliedAsync(id, brief.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                {
                    // Past anything this node knows to be committed, even after a heartbeat or two: no such session.
                    if (id > consensus.CommitIndex)
                        return null;
                }
            }
            await consensus.WaitForAppliedAsync(id, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new QuorumUnavailableException($"this node has not applied index {id}, where session {id} was opened, within {requestTimeout.TotalSeconds:0.#} s; retry");
        }
        return store.Read(s => s.TryGetSession(id, out var info) ? info : (SessionInfo?)null);
    }
}
