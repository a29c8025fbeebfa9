// The inbound security step of the request pipeline: counts plaintext requests, evaluates the
// service's authorization policy for the caller's SPIFFE id, and answers 403 with the reason in
// `x-mesh-denied-reason` when it says no. Policies are a snapshot swapped whole on change.
using System.Text;
using Mesh.Sidecar.Configuration;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Security;

internal sealed class InboundAuthorization(string service, SecurityMetrics metrics, AuthorizationPolicySet? policies = null)
{
    public const string DeniedReasonHeader = "x-mesh-denied-reason";

    private AuthorizationPolicySet _policies = policies ?? AuthorizationPolicySet.Empty;

    public string Service { get; } = service;

    public AuthorizationPolicySet Policies
    {
        get => Volatile.Read(ref _policies);
        set => Volatile.Write(ref _policies, value);
    }

    /// <summary>The decision for this request (no side effects).</summary>
    public AuthorizationDecision Evaluate(HttpContext context, string? route = null) =>
        Policies.Evaluate(Service, new AuthorizationRequest(context.GetCallerIdentity(), context.Request.Method, context.Request.Path.Value ?? "/", route));

    /// <summary>
    /// True when the request may go on; otherwise the 403 has been written and the caller must stop.
    /// </summary>
    public async ValueTask<bool> AuthorizeAsync(HttpContext context, string? route = null)
    {
        if (context.IsPlaintext())
            metrics.PlaintextRequest(Service);

        var decision = Evaluate(context, route);
        if (decision.Allowed)
            return true;

        metrics.Denied(Service, decision.Rule ?? AuthorizationDecision.DefaultDenyRule);
        context.Response.Headers[DeniedReasonHeader] = HeaderSafe(decision.Reason);
        if (Forwarder.UpstreamVersion.IsGrpc(context.Request))
        {
            Forwarder.GrpcErrors.Write(context.Response, StatusCodes.Status403Forbidden, "forbidden: " + decision.Reason);
            return false;
        }
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync("forbidden: " + decision.Reason + "\n", context.RequestAborted).ConfigureAwait(false);
        return false;
    }

    // Header values must be visible ASCII; request paths need not be.
    private static string HeaderSafe(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, 512));
        foreach (var c in text.AsSpan(0, Math.Min(text.Length, 512)))
            builder.Append(c is >= ' ' and <= '~' ? c : '?');
        return builder.ToString();
    }
}
