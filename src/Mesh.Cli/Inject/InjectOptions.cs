namespace Mesh.Cli.Inject;

/// <summary>What <c>mesh inject</c> and <c>mesh injector</c> add to each pod.</summary>
internal sealed record InjectOptions
{
    public string Image { get; init; } = "mesh:0.1.0";
    public string Registry { get; init; } = "http://mesh-registry.mesh-system.svc.cluster.local:7001";
    /// <summary>The Secret, in the workload's namespace, whose <see cref="JoinTokenSecretKey"/> is the namespace's join token.</summary>
    public string JoinTokenSecret { get; init; } = "mesh-join-token";
    public string JoinTokenSecretKey { get; init; } = "token";
    // The sidecar's own listener defaults, so injected manifests cannot drift from them.
    public int OutboundPort { get; init; } = new Mesh.Sidecar.Configuration.ListenersConfig().Outbound.Port;
    public int InboundPort { get; init; } = new Mesh.Sidecar.Configuration.ListenersConfig().Inbound.Port;
    public int AdminPort { get; init; } = new Mesh.Sidecar.Configuration.ListenersConfig().Admin.Port;

    /// <summary>The sidecar runs as this user so its own traffic is not redirected back to it.</summary>
    public int ProxyUid { get; init; } = 1337;

    /// <summary>Where the sidecar goes when the pod's <see cref="SidecarLayouts.Annotation"/> does not say.</summary>
    public SidecarLayout Layout { get; init; } = SidecarLayout.Native;
}
