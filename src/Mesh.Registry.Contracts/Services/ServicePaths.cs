namespace Mesh.Registry.Contracts;

/// <summary>The registry's data layout for services and config (ARCHITECTURE.md).</summary>
public static class ServicePaths
{
    public const string ServicesRoot = "/services";
    public const string RoutesRoot = "/config/routes";
    public const string PoliciesRoot = "/config/policies";

    /// <summary>The service's own node: its data is the ownership record (<see cref="ServiceOwner"/>).</summary>
    public static string Service(string service) => $"{ServicesRoot}/{service}";

    public static string Instances(string service) => $"{ServicesRoot}/{service}/instances";

    public static string Instance(string service, string instanceId) => $"{Instances(service)}/{instanceId}";
}
