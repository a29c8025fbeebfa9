// Whose fault an attempt's outcome was: the endpoint's, the caller's or this sidecar's. Outlier
// ejection and retries act only on the endpoint's faults (refused or reset connections, upstream
// 5xx, upstream timeouts): a caller that sends its body too slowly, aborts, or asks for a method
// the sidecar cannot forward must never take an endpoint out of rotation for everyone else.
// Pure: the handler gathers the facts, this decides (the table is in docs/sidecar.md).
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Forwarder;

internal enum Fault
{
    /// <summary>Nothing went wrong, or nobody is to blame (an idle upgraded connection timing out).</summary>
    None,

    /// <summary>The endpoint refused, reset, timed out or answered 5xx: counts against it.</summary>
    Endpoint,

    /// <summary>The caller aborted, its body broke or was too slow: never counts against the endpoint.</summary>
    Client,

    /// <summary>This sidecar could not build the request (a method or header it cannot forward).</summary>
    Sidecar,
}

/// <summary>What is known about one attempt when it ends.</summary>
/// <param name="Error">The forwarder's verdict.</param>
/// <param name="Status">The response status (the upstream's, or the one the forwarder set).</param>
/// <param name="UpstreamMeshError">The upstream's `x-mesh-error`: set when the next hop is a sidecar that answered itself.</param>
/// <param name="ClientAborted">The caller went away (its RequestAborted fired).</param>
/// <param name="RouteTimedOut">The route's own timeout fired while the endpoint had the request.</param>
internal readonly record struct AttemptFacts(ForwarderError Error, int Status, string? UpstreamMeshError = null, bool ClientAborted = false, bool RouteTimedOut = false);

internal static class FaultClassifier
{
    public static Fault Classify(in AttemptFacts facts)
    {
        if (facts.ClientAborted)
            return Fault.Client;
        if (facts.RouteTimedOut)
            return Fault.Endpoint;
        return facts.Error switch
        {
            ForwarderError.None => ClassifyResponse(facts.Status, facts.UpstreamMeshError),
            ForwarderError.RequestBodyClient
                or ForwarderError.RequestBodyCanceled
                or ForwarderError.RequestCanceled
                or ForwarderError.ResponseBodyClient
                or ForwarderError.ResponseBodyCanceled
                or ForwarderError.UpgradeRequestClient
                or ForwarderError.UpgradeRequestCanceled
                or ForwarderError.UpgradeResponseClient
                or ForwarderError.UpgradeResponseCanceled => Fault.Client,
            ForwarderError.RequestCreation or ForwarderError.NoAvailableDestinations => Fault.Sidecar,
            ForwarderError.UpgradeActivityTimeout => Fault.None,
            // Request (refused, reset, TLS failure), RequestTimedOut, RequestBodyDestination,
            // ResponseBodyDestination, ResponseHeaders, Upgrade*Destination: the endpoint's side broke.
            _ => Fault.Endpoint,
        };
    }

    /// <summary>
    /// A response that arrived: 5xx is the endpoint's fault unless the next sidecar says it
    /// answered for the caller's own mistake (its client body timed out, was too large, ...).
    /// </summary>
    private static Fault ClassifyResponse(int status, string? upstreamMeshError)
    {
        // Every client-fault answer is a 4xx or a 501: a 5xx that claims one is still the endpoint's.
        if (upstreamMeshError is not null && MeshErrors.IsClientFault(upstreamMeshError) && (status < 500 || status == 501))
            return Fault.Client;
        return status >= 500 ? Fault.Endpoint : Fault.None;
    }
}
