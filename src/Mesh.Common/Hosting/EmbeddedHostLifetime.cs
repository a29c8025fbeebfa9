using Microsoft.Extensions.Hosting;

namespace Mesh.Common.Hosting;

/// <summary>
/// The web host inside a component, not the process: the default console lifetime would take
/// SIGTERM and Ctrl+C for itself (stopping only this web host and cancelling the process's own
/// shutdown), so the command that owns the component never hears of them. The owner stops it.
/// Shared by the registry node and the sidecar.
/// </summary>
public sealed class EmbeddedHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
