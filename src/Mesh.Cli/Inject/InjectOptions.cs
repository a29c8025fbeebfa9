namespace Mesh.Cli.Inject;

/// <summary>What <c>mesh inject</c> adds to each workload.</summary>
internal sealed record InjectOptions
{
    public string Image { get; init; } = "mesh:0.1.0";
    public string Registry { get; init; } = "http://mesh-registry.mesh-system.svc.cluster.local:7001";
    public string JoinTokenSecret { get; init; } = "mesh-join-token";
    public int OutboundPort { get; init; } = 15001;
    public int InboundPort { get; init; } = 15006;
    public int AdminPort { get; init; } = 15000;

    /// <summary>The sidecar runs as this user so its own traffic is not redirected back to it.</summary>
    public int ProxyUid { get; init; } = 1337;
}
