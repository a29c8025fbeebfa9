using Mesh.Registry.CertificateAuthority;

namespace Mesh.Registry.Api.Access;

/// <summary>Who sent a client API request, as far as its bearer token tells.</summary>
internal abstract record ApiCaller
{
    /// <summary>An operator token with <c>admin</c> or <c>read</c> rights.</summary>
    public sealed record Operator(ApiTokenRole Role) : ApiCaller;

    /// <summary>A sidecar holding a join token: it may read, keep sessions and register its own service's instances.</summary>
    public sealed record Workload(JoinTokenScope Scope) : ApiCaller;
}
