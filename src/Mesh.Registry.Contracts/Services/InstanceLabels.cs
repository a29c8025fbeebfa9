namespace Mesh.Registry.Contracts;

/// <summary>Instance labels with a meaning to Mesh itself, written by sidecars and read by other tools.</summary>
public static class InstanceLabels
{
    /// <summary>The sidecar's admin port: where `mesh dashboard` scrapes /metrics and /config_dump (at the instance's address).</summary>
    public const string AdminPort = "adminPort";
}
