using Mesh.Sidecar.Forwarder;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Tests.Forwarder;

public sealed class FaultClassifierTests
{
    public static TheoryData<ForwarderError, int, string?, bool, bool, string> Table => new()
    {
        // What the endpoint did: counts against it.
        { ForwarderError.None, 200, null, false, false, nameof(Fault.None) },
        { ForwarderError.None, 404, null, false, false, nameof(Fault.None) },
        { ForwarderError.None, 500, null, false, false, nameof(Fault.Endpoint) },
        { ForwarderError.None, 503, null, false, false, nameof(Fault.Endpoint) },
        { ForwarderError.None, 503, "upstream-unavailable", false, false, nameof(Fault.Endpoint) },
        { ForwarderError.None, 503, "starting", false, false, nameof(Fault.Endpoint) },
        { ForwarderError.Request, 502, null, false, false, nameof(Fault.Endpoint) },
        { ForwarderError.RequestTimedOut, 504, null, false, false, nameof(Fault.Endpoint) },
        { ForwarderError.RequestBodyDestination, 502, null, false, false, nameof(Fault.Endpoint) },
        { ForwarderError.ResponseBodyDestination, 200, null, false, false, nameof(Fault.Endpoint) },
        { ForwarderError.ResponseHeaders, 502, null, false, false, nameof(Fault.Endpoint) },
        { ForwarderError.UpgradeRequestDestination, 101, null, false, false, nameof(Fault.Endpoint) },
        { ForwarderError.UpgradeResponseDestination, 101, null, false, false, nameof(Fault.Endpoint) },
        // The route's timeout fired while the endpoint had the request.
        { ForwarderError.RequestCanceled, 502, null, false, true, nameof(Fault.Endpoint) },
        // What the caller did: never counts.
        { ForwarderError.RequestBodyClient, 400, null, false, false, nameof(Fault.Client) },
        { ForwarderError.RequestBodyClient, 408, null, false, false, nameof(Fault.Client) },
        { ForwarderError.RequestBodyCanceled, 502, null, false, false, nameof(Fault.Client) },
        { ForwarderError.RequestCanceled, 502, null, false, false, nameof(Fault.Client) },
        { ForwarderError.ResponseBodyClient, 200, null, false, false, nameof(Fault.Client) },
        { ForwarderError.ResponseBodyCanceled, 200, null, false, false, nameof(Fault.Client) },
        { ForwarderError.UpgradeRequestClient, 101, null, false, false, nameof(Fault.Client) },
        { ForwarderError.UpgradeResponseClient, 101, null, false, false, nameof(Fault.Client) },
        { ForwarderError.UpgradeRequestCanceled, 101, null, false, false, nameof(Fault.Client) },
        { ForwarderError.UpgradeResponseCanceled, 101, null, false, false, nameof(Fault.Client) },
        // The caller went away: whatever else broke, and even when the route timer also fired.
        { ForwarderError.Request, 502, null, true, false, nameof(Fault.Client) },
        { ForwarderError.None, 503, null, true, false, nameof(Fault.Client) },
        { ForwarderError.RequestCanceled, 502, null, true, true, nameof(Fault.Client) },
        // The next sidecar answered for its caller's own mistake (its client is this sidecar's app).
        { ForwarderError.None, 408, "request-body-timeout", false, false, nameof(Fault.Client) },
        { ForwarderError.None, 400, "bad-request-body", false, false, nameof(Fault.Client) },
        { ForwarderError.None, 413, "request-too-large", false, false, nameof(Fault.Client) },
        { ForwarderError.None, 501, "unsupported-method", false, false, nameof(Fault.Client) },
        { ForwarderError.None, 501, "cannot-forward", false, false, nameof(Fault.Client) },
        { ForwarderError.None, 400, "invalid-header", false, false, nameof(Fault.Client) },
        // A 5xx that claims to be the caller's fault is still the endpoint's.
        { ForwarderError.None, 503, "bad-request-body", false, false, nameof(Fault.Endpoint) },
        { ForwarderError.None, 500, "request-body-timeout", false, false, nameof(Fault.Endpoint) },
        // What this sidecar cannot do.
        { ForwarderError.RequestCreation, 502, null, false, false, nameof(Fault.Sidecar) },
        { ForwarderError.NoAvailableDestinations, 503, null, false, false, nameof(Fault.Sidecar) },
        // An idle upgraded connection timing out is nobody's failure.
        { ForwarderError.UpgradeActivityTimeout, 101, null, false, false, nameof(Fault.None) },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Classify_Outcome_BlamesWhoeverCausedIt(ForwarderError error, int status, string? upstreamMeshError, bool clientAborted, bool routeTimedOut, string expected) =>
        Assert.Equal(Enum.Parse<Fault>(expected), FaultClassifier.Classify(new AttemptFacts(error, status, upstreamMeshError, clientAborted, routeTimedOut)));

    [Fact]
    public void Classify_EveryForwarderError_HasAVerdict()
    {
        // A new YARP error must be placed in the table on purpose; until then it blames the endpoint.
        var listed = Table.Select(row => (ForwarderError)row[0]).ToHashSet();
        Assert.Equal([], Enum.GetValues<ForwarderError>().Where(e => !listed.Contains(e)).ToArray());
    }
}
