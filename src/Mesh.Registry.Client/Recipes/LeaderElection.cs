using System.Text;

namespace Mesh.Registry.Client.Recipes;

/// <summary>
/// Leader election over the registry (ZooKeeper's election recipe): candidates queue up, the
/// first is leader, and when its session dies the next takes over.
/// </summary>
public static class LeaderElection
{
    public const string Root = "/election";

    /// <summary>
    /// Runs for leader of <paramref name="name"/> as <paramref name="candidate"/>; returns when
    /// elected. Dispose the handle to step down; watch <see cref="LockHandle.Lost"/> to learn of
    /// losing leadership with the session.
    /// </summary>
    public static async Task<LockHandle> CampaignAsync(
        RegistrySession session, string name, string candidate, CancellationToken cancellationToken = default)
    {
        var directory = $"{Root}/{name}";
        return await SequentialQueue.AcquireAsync(session, directory, Encoding.UTF8.GetBytes(candidate), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The current leader's candidate name, or null when there is none.</summary>
    public static async Task<string?> GetLeaderAsync(RegistryClient client, string name, CancellationToken cancellationToken = default)
    {
        var head = await SequentialQueue.HeadAsync(client, $"{Root}/{name}", cancellationToken).ConfigureAwait(false);
        return head is null ? null : Encoding.UTF8.GetString(head.Data);
    }
}
