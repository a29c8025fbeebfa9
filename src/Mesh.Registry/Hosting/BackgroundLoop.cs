namespace Mesh.Registry.Hosting;

/// <summary>
/// One loop a node runs in the background until it stops: started once, and disposing cancels it
/// and waits for it to end (once, however often it is disposed).
/// </summary>
internal sealed class BackgroundLoop(Func<CancellationToken, Task> run) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private int _disposed;

    public void Start() => _loop = Task.Run(() => run(_stop.Token));

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
