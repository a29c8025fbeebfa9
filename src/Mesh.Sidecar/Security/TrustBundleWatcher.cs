// The trust bundle from the registry's streaming watch: when the CA's roots change (a root
// rotation, docs/security.md), the sidecar takes the new bundle at once instead of at its next
// certificate renewal (which still re-reads it too). Rides the client's one stream.
using Mesh.Registry.Client;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Security;

internal sealed partial class TrustBundleWatcher(RegistryClient client, SidecarSecurity security, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = Task.Run(() =>
        new Mesh.Common.Time.RetryLoop(Mesh.Common.Time.Backoff.Constant(TimeSpan.FromSeconds(1)), client.Options.TimeProvider).WatchAsync(
            token => client.WatchTrustBundleAsync(token), root => SidecarIdentityBootstrap.ApplyTrust(root, security, logger),
            (e, _) => Log.WatchFailed(logger, e.Message), _stop.Token));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Trust bundle watch failed; retrying: {Message}")]
        public static partial void WatchFailed(ILogger logger, string message);
    }
}
