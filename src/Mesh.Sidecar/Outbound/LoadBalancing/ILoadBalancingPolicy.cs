// The plug-in point for choosing an endpoint, shaped like YARP's ILoadBalancingPolicy: a name and
// a pick. We call IHttpForwarder directly (see docs/design/sidecar-forwarding.md), so the policy picks from our
// own EndpointSet instead of YARP's DestinationState list. Picks must not allocate.
namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal interface ILoadBalancingPolicy
{
    string Name { get; }

    /// <summary>An endpoint of <paramref name="endpoints"/>, or null when it is empty.</summary>
    EndpointState? Pick(EndpointSet endpoints);
}
