using System.Text;

namespace Mesh.Registry.Client.Recipes;

/// <summary>
/// A mutual-exclusion lock over the registry (ZooKeeper's lock recipe). At most one holder at a
/// time among live sessions; a holder whose process dies releases it when its session expires.
/// <code>await using var held = await DistributedLock.AcquireAsync(session, "orders", ct);</code>
/// </summary>
public static class DistributedLock
{
    public const string Root = "/locks";

    /// <summary>Blocks until the lock named <paramref name="name"/> is ours; dispose the handle to release it.</summary>
    public static async Task<LockHandle> AcquireAsync(
        RegistrySession session, string name, CancellationToken cancellationToken = default, string? owner = null)
    {
        var directory = $"{Root}/{name}";
        return await SequentialQueue.AcquireAsync(session, directory, Encoding.UTF8.GetBytes(owner ?? Environment.MachineName), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A held lock or leadership. <see cref="Lost"/> fires if the session expires while held.</summary>
public sealed class LockHandle : IAsyncDisposable
{
    private readonly RegistrySession _session;
    private readonly CancellationTokenSource _lost = new();
    private readonly long _sessionId;
    private int _released;

    internal LockHandle(RegistrySession session, string path)
    {
        _session = session;
        _sessionId = session.Id;
        Path = path;
        session.StateChanged += OnSessionChanged;
    }

    /// <summary>The queue node that stands for this holder.</summary>
    public string Path { get; }

    /// <summary>Cancelled when the session that holds this expires: stop acting as the holder.</summary>
    public CancellationToken Lost => _lost.Token;

    private void OnSessionChanged(SessionStateChange change)
    {
        if (change.State is SessionState.Expired or SessionState.Closed || change.SessionId != _sessionId)
            _lost.Cancel();
    }

    internal static async Task DeleteQuietlyAsync(RegistryClient client, string path)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.DeleteAsync(path, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RegistryException or HttpRequestException or OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 1)
            return;
        _session.StateChanged -= OnSessionChanged;
        await DeleteQuietlyAsync(_session.Client, Path).ConfigureAwait(false);
        _lost.Dispose();
    }
}
