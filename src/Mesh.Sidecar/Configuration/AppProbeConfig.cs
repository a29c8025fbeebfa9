// The `appProbes:` section of sidecar.yaml (docs/kubernetes.md, probe rewrite): the app's own
// kubelet probes, which `mesh inject` points at the admin listener's /app-health/{name}; the
// sidecar calls the app at 127.0.0.1:{port}{path} for them. Only the names listed here are served.
namespace Mesh.Sidecar.Configuration;

public sealed record AppProbeConfig
{
    /// <summary>The admin listener serves the probe named N at this prefix and N.</summary>
    public const string AdminPathPrefix = "/app-health/";

    /// <summary>The app's port on 127.0.0.1.</summary>
    public int Port { get; init; }

    /// <summary>The path (and query) the probe asks for; starts with '/'.</summary>
    public string Path { get; init; } = "/";

    public AppProbeScheme Scheme { get; init; } = AppProbeScheme.Http;

    /// <summary>How long the app has to answer before the probe fails (the probe's timeoutSeconds).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);
}

public enum AppProbeScheme
{
    Http,
    /// <summary>TLS without certificate checks, as the kubelet's own HTTPS probes.</summary>
    Https,
}
