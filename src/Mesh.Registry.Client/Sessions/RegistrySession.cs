using Mesh.Common.Time;

namespace Mesh.Registry.Client;

/// <summary>
/// A registry session kept alive in the background, like a ZooKeeper session: keep-alives go out
/// every third of the TTL. When the registry says the session expired (its ephemeral nodes are
/// then gone), a new session is opened and every re-registration callback runs against it, as
/// Curator's persistent ephemeral nodes do. State changes are reported by <see cref="StateChanged"/>.
/// </summary>
public sealed class RegistrySession : IAsyncDisposable
{
    private readonly RegistryClient _client;
    private readonly TimeSpan _ttl;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Func<long, CancellationToken, Task>> _onNewSession = [];
    private Task? _loop;
    private long _id;
    private SessionState _state;

    private RegistrySession(RegistryClient client, TimeSpan ttl)
    {
        _client = client;
        _ttl = ttl;
    }

    public RegistryClient Client => _client;

    /// <summary>The id of the session in use now (it changes after an expiry).</summary>
    public long Id => Interlocked.Read(ref _id);

    public TimeSpan Ttl => _ttl;

    public SessionState State => _state;

    /// <summary>Raised on every state change, from the keep-alive loop; handlers must not block.</summary>
    public event Action<SessionStateChange>? StateChanged;

    /// <summary>Opens a session with the given TTL and starts keeping it alive.</summary>
    public static async Task<RegistrySession> OpenAsync(RegistryClient client, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var session = new RegistrySession(client, ttl);
        session._id = await client.OpenSessionAsync(ttl, cancellationToken).ConfigureAwait(false);
        session._state = SessionState.Connected;
        session._loop = Task.Run(() => session.KeepAliveLoopAsync(session._stop.Token), CancellationToken.None);
        return session;
    }

    /// <summary>
    /// Runs <paramref name="register"/> whenever a new session replaces an expired one, so what
    /// the app registered comes back. Returns a handle that removes the callback.
    /// </summary>
    public IDisposable OnNewSession(Func<long, CancellationToken, Task> register)
    {
        lock (_gate)
            _onNewSession.Add(register);
        return new Unsubscriber(this, register);
    }

    private sealed class Unsubscriber(RegistrySession session, Func<long, CancellationToken, Task> register) : IDisposable
    {
        public void Dispose()
        {
            lock (session._gate)
                session._onNewSession.Remove(register);
        }
    }

    private async Task KeepAliveLoopAsync(CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromMilliseconds(Math.Max(100, _ttl.TotalMilliseconds / 3));
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_state == SessionState.Connected ? interval : interval / 3, _client.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
                // One keep-alive may take at most the interval, not the client's whole request
                // timeout (which can exceed the TTL): an outage is reported as Suspended while
                // the session may still be alive, and the next try comes soon after.
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(interval);
                await _client.KeepAliveAsync(Id, attempt.Token).ConfigureAwait(false);
                if (_state != SessionState.Connected)
                    SetState(SessionState.Connected, "keep-alive answered");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                if (_state == SessionState.Connected)
                    SetState(SessionState.Suspended, $"no registry answered a keep-alive within {interval.TotalSeconds:0.#} s");
            }
            catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.SessionExpired)
            {
                SetState(SessionState.Expired, ex.Message);
                await RenewAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RegistryException or HttpRequestException)
            {
                if (_state == SessionState.Connected)
                    SetState(SessionState.Suspended, ex.Message);
            }
        }
    }

    /// <summary>Opens a replacement session and re-runs every registration, until it works or we stop.</summary>
    private Task RenewAsync(CancellationToken cancellationToken) =>
        new RetryLoop(RenewBackoff, _client.Options.TimeProvider).RunAsync(async (_, token) =>
        {
            var id = await _client.OpenSessionAsync(_ttl, token).ConfigureAwait(false);
            Interlocked.Exchange(ref _id, id);
            Func<long, CancellationToken, Task>[] callbacks;
            lock (_gate)
                callbacks = [.. _onNewSession];
            foreach (var callback in callbacks)
                await callback(id, token).ConfigureAwait(false);
            SetState(SessionState.Connected, "new session opened after expiry");
        }, null, cancellationToken, ex => ex is RegistryException or HttpRequestException);

    private static readonly Backoff RenewBackoff = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));

    private void SetState(SessionState state, string reason)
    {
        _state = state;
        StateChanged?.Invoke(new SessionStateChange(state, Id, reason));
    }

    /// <summary>
    /// Stops keeping the session alive without closing it, as a crashed process would: the
    /// registry expires it after its TTL, deleting its ephemeral nodes then. For fault drills
    /// (tests, <c>mesh demo --chaos</c>) of what others see when a holder dies.
    /// </summary>
    public async Task AbandonAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
    }

    /// <summary>Stops keeping the session alive and closes it, deleting its ephemeral nodes at once.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _client.CloseSessionAsync(Id, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RegistryException or HttpRequestException or OperationCanceledException)
        {
            // The registry will expire it after the TTL anyway.
        }

        SetState(SessionState.Closed, "closed by its owner");
        _stop.Dispose();
    }
}
