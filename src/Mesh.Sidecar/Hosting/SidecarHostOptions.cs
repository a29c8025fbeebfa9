// What a caller (the `mesh sidecar` command, tests, the demo) can plug into a SidecarHost. A
// record, so a caller that adds to given options says `options with { ... }` instead of copying them.
using Mesh.Sidecar.Discovery;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Hosting;

public sealed record SidecarHostOptions
{
    /// <summary>Where endpoints come from; default: a StaticEndpointSource over the config's `endpoints:`.</summary>
    internal IEndpointSource? EndpointSource { get; init; }

    /// <summary>Where routes come from; default: a StaticRouteSource over the config's `routes:`.</summary>
    internal IRouteSource? RouteSource { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Randomness for splits and load balancing; must be thread-safe. Default: Random.Shared.</summary>
    public Random? Random { get; init; }

    /// <summary>Replaces the default logging (console, warnings and above).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>Called when draining starts, before the drain period: deregister the instance here.</summary>
    public Func<CancellationToken, Task>? OnDraining { get; init; }

    /// <summary>When true, /readyz stays 503 until <see cref="SidecarHost.MarkRegistered"/> is called.</summary>
    public bool RequireRegistration { get; init; }

    /// <summary>
    /// This sidecar's share of mesh-wide rate limits (e.g. a RegistryMeshShare over the service's
    /// live instances); default: 1, the whole limit.
    /// </summary>
    internal RateLimiting.MeshShare? RateLimitShare { get; init; }

    /// <summary>How long StartAsync waits for the first route set before opening listeners anyway.</summary>
    public TimeSpan InitialRoutesTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
