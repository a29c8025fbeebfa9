// The open endpoints that do work (certificate signing, the CA root) serve callers without a
// token, so anyone can flood them. A small concurrency limit keeps such a flood from taking the
// node's threads and memory; callers with a valid token (a sidecar sends its join token as a
// bearer) skip it, so they keep being served during a flood.
using System.Threading.RateLimiting;

namespace Mesh.Registry.Api.Limits;

internal sealed class AnonymousGate(int permits) : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = permits,
        QueueLimit = 0,
    });

    public int Permits { get; } = permits;

    public static bool Applies(string method, string path) => (method, path) is ("POST", "/v1/ca/sign") or ("GET", "/v1/ca/root");

    /// <summary>A lease to dispose when the request is done, or null when every permit is taken (answer 429).</summary>
    public RateLimitLease? TryEnter()
    {
        var lease = _limiter.AttemptAcquire();
        if (lease.IsAcquired)
            return lease;
        lease.Dispose();
        return null;
    }

    public void Dispose() => _limiter.Dispose();
}
