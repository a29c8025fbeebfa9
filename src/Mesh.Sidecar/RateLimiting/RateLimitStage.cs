// The rate-limiting stage of a request path: the limits that apply to a request, in order (a
// route's own limit, then its destination services' client-side limits; or the inbound policy).
// Every applicable limit must grant a permit; when one refuses, the permits already taken are
// returned and the request is answered 429 with Retry-After and RateLimit headers. A limit with a
// queue makes the request wait instead, up to its bound. Handlers call AcquireAsync and dispose
// the permit when the request is done (concurrency limits count requests in flight).
using System.Threading.RateLimiting;
using Mesh.Sidecar.Forwarder;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.RateLimiting;

internal sealed class RateLimitStage
{
    public const string Inbound = "inbound";
    public const string Outbound = "outbound";

    private readonly Entry[] _entries;
    private readonly IRateLimitTelemetry _telemetry;
    private readonly string _direction;

    public RateLimitStage(string direction, IReadOnlyList<Entry> entries, IRateLimitTelemetry telemetry)
    {
        _direction = direction;
        _entries = [.. entries];
        _telemetry = telemetry;
    }

    public IReadOnlyList<Entry> Entries => _entries;

    /// <summary>One limit of the stage; <see cref="PathPrefix"/> and <see cref="Methods"/> narrow it (inbound policy).</summary>
    public sealed record Entry(RateLimitStrategy Strategy, string? PathPrefix = null, string[]? Methods = null)
    {
        private readonly string? _prefix = PathPrefix is null or "/" ? null : PathPrefix.TrimEnd('/');

        public bool Applies(HttpRequest request)
        {
            if (_prefix is not null)
            {
                var path = request.Path.Value ?? "/";
                if (!path.StartsWith(_prefix, StringComparison.OrdinalIgnoreCase) || (path.Length != _prefix.Length && path[_prefix.Length] != '/'))
                    return false;
            }
            if (Methods is not { Length: > 0 } methods)
                return true;
            foreach (var method in methods)
            {
                if (string.Equals(method, request.Method, StringComparison.OrdinalIgnoreCase))
                    return true;
            }
            return false;
        }
    }

    /// <summary>The one call a handler makes: admitted (dispose when done) or rejected (429 already written).</summary>
    public static ValueTask<RateLimitPermit> AcquireAsync(HttpContext context, RateLimitStage? stage) =>
        stage is null ? new(default(RateLimitPermit)) : stage.AcquireAsync(context);

    public ValueTask<RateLimitPermit> AcquireAsync(HttpContext context)
    {
        var leases = default(LeaseList);
        var entries = _entries;
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            if ((entry.PathPrefix is not null || entry.Methods is not null) && !entry.Applies(context.Request))
                continue;
            var lease = entry.Strategy.AttemptAcquire(context);
            if (lease.IsAcquired)
            {
                leases.Add(lease);
                continue;
            }
            return entry.Strategy.QueueLimit > 0
                ? WaitAsync(context, i, lease, leases)
                : RejectAsync(context, entry.Strategy, lease, leases, RateLimitReasons.Limit);
        }
        return new(leases.ToPermit());
    }

    private async ValueTask<RateLimitPermit> WaitAsync(HttpContext context, int index, RateLimitLease refused, LeaseList leases)
    {
        for (var i = index; i < _entries.Length; i++)
        {
            var entry = _entries[i];
            if (i > index && (entry.PathPrefix is not null || entry.Methods is not null) && !entry.Applies(context.Request))
                continue;
            var lease = i == index ? refused : entry.Strategy.AttemptAcquire(context);
            if (!lease.IsAcquired && entry.Strategy.QueueLimit > 0)
            {
                lease.Dispose();
                _telemetry.Queued(_direction, entry.Strategy.Name);
                try
                {
                    lease = await entry.Strategy.AcquireAsync(context, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    leases.ToPermit().Dispose();
                    _telemetry.Rejected(_direction, entry.Strategy.Name, RateLimitReasons.Canceled);
                    return RateLimitPermit.Rejected;
                }
                if (!lease.IsAcquired)
                    return await RejectAsync(context, entry.Strategy, lease, leases, RateLimitReasons.QueueFull).ConfigureAwait(false);
            }
            else if (!lease.IsAcquired)
            {
                return await RejectAsync(context, entry.Strategy, lease, leases, RateLimitReasons.Limit).ConfigureAwait(false);
            }
            leases.Add(lease);
        }
        return leases.ToPermit();
    }

    private async ValueTask<RateLimitPermit> RejectAsync(HttpContext context, RateLimitStrategy strategy, RateLimitLease lease, LeaseList leases, string reason)
    {
        leases.ToPermit().Dispose();
        var retryAfter = strategy.RetryAfter(lease);
        lease.Dispose();
        _telemetry.Rejected(_direction, strategy.Name, reason);
        var response = context.Response;
        if (!response.HasStarted)
        {
            response.Headers[MeshErrors.Header] = RateLimitHeaders.ErrorCode;
            RateLimitHeaders.Write(response.Headers, strategy, retryAfter);
            if (UpstreamVersion.IsGrpc(context.Request))
            {
                GrpcErrors.Write(response, StatusCodes.Status429TooManyRequests, $"mesh: rate limit '{strategy.Name}' exceeded");
                return RateLimitPermit.Rejected;
            }
            response.StatusCode = StatusCodes.Status429TooManyRequests;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync($"mesh: rate limit '{strategy.Name}' exceeded\n", context.RequestAborted).ConfigureAwait(false);
        }
        return RateLimitPermit.Rejected;
    }

    /// <summary>The leases taken so far; two inline, more in an array (rare: three limits on one request).</summary>
    private struct LeaseList
    {
        private RateLimitLease? _first;
        private RateLimitLease? _second;
        private List<RateLimitLease>? _more;

        public void Add(RateLimitLease lease)
        {
            if (_first is null)
                _first = lease;
            else if (_second is null)
                _second = lease;
            else
                (_more ??= []).Add(lease);
        }

        public readonly RateLimitPermit ToPermit() => new(_first, _second, _more, rejected: false);
    }
}

/// <summary>What the stage gives a request: admitted (holding leases until disposed) or rejected.</summary>
internal readonly struct RateLimitPermit(RateLimitLease? first, RateLimitLease? second, List<RateLimitLease>? more, bool rejected) : IDisposable
{
    public static readonly RateLimitPermit Rejected = new(null, null, null, rejected: true);

    public bool IsAcquired => !rejected;

    public void Dispose()
    {
        first?.Dispose();
        second?.Dispose();
        if (more is not null)
        {
            foreach (var lease in more)
                lease.Dispose();
        }
    }
}
