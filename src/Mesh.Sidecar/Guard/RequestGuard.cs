// The checks every request on the outbound and inbound listeners passes before it is routed,
// authorized or forwarded: what Kestrel's parser accepts but a proxy in front of other parsers
// should not. Kestrel itself already refuses broken request lines, header floods and oversized
// heads (400/414/431) and enforces the body rate and header timeout (see docs/configuration.md, "Limits").
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Guard;

internal static class RequestGuard
{
    /// <summary>Answers the request with a 4xx (501 for a method it does not forward) and returns true when it must not go further.</summary>
    public static bool TryReject(HttpContext context, out Task response) =>
        UnsupportedMethod.TryReject(context, out response)
        || AmbiguousFraming.TryReject(context, out response)
        || HeaderSyntax.TryReject(context, out response)
        || RequestBodyLimit.TryReject(context, out response);
}
