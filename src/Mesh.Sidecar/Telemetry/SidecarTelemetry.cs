// The one listener for the events the request path reports (ISidecarTelemetry): it records the
// duration histograms and counters, finishes spans and queues access log lines. Per request it
// costs two timestamps and one histogram record with five labels; spans and log lines only when
// switched on.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Forwarder;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.Security;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Telemetry;

internal sealed class SidecarTelemetry : ISidecarTelemetry, IAsyncDisposable
{
    public const string NoRoute = "none";
    public const string UnknownService = "unknown";
    public const string UnknownCaller = "unknown";

    private static readonly string[] StatusClasses = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];

    private readonly SidecarConfig _config;
    private readonly TimeProvider _time;
    private readonly SidecarMetrics? _metrics;
    private readonly AccessLogWriter? _accessLog;
    private readonly SidecarTracing _tracing;

    /// <param name="tracing">The host's (shared with its span export), disposed with this; null makes one from the config.</param>
    public SidecarTelemetry(SidecarConfig config, TimeProvider timeProvider, IMeterFactory? meterFactory = null, Stream? accessLogOutput = null, SidecarTracing? tracing = null)
    {
        _config = config;
        _time = timeProvider;
        _tracing = tracing ?? new SidecarTracing(config.Telemetry.Tracing.Enabled);
        if (config.Telemetry.Metrics.Enabled)
            _metrics = new SidecarMetrics(meterFactory);
        if (config.Telemetry.AccessLog.Enabled)
            _accessLog = new AccessLogWriter(config.Telemetry.AccessLog, timeProvider, () => _metrics?.AccessLogDropped.Add(1), accessLogOutput);
    }

    /// <summary>
    /// When the workload certificate expires; set by the mTLS wiring (the rotator's current
    /// certificate). Read only when /metrics is scraped.
    /// </summary>
    public Func<DateTimeOffset?> CertificateNotAfter { get; set; } = static () => null;

    public AccessLogWriter? AccessLog => _accessLog;

    public void Bind(SidecarState state, EndpointCatalog catalog) =>
        _metrics?.Bind(state, catalog, () => CertificateNotAfter(), _time);

    /// <summary>One connection that broke outside a request (see Hosting/ConnectionNoise).</summary>
    public void ConnectionError(string direction, string kind) =>
        _metrics?.ConnectionErrors.Add(1, new KeyValuePair<string, object?>("direction", direction), new KeyValuePair<string, object?>("kind", kind));

    public RequestScope RequestStarted(HttpContext context, RequestDirection direction) =>
        new(direction, _time.GetTimestamp(), _tracing.Start(context, direction));

    public void RequestCompleted(in RequestRecord record)
    {
        var scope = record.Scope;
        var elapsed = _time.GetElapsedTime(scope.StartTimestamp);
        var context = record.Context;
        var response = context.Response;
        // A caller that went away before the response started: nginx's 499, so it is not a 200.
        var status = context.RequestAborted.IsCancellationRequested && !response.HasStarted ? 499 : response.StatusCode;
        var inbound = scope.Direction == RequestDirection.Inbound;
        var route = record.Route ?? NoRoute;
        var service = inbound ? _config.Service.Name : record.DestinationService ?? UnknownService;
        var version = inbound ? _config.Service.Version : record.Endpoint?.Version ?? "";
        var caller = inbound ? CallerOf(context) : _config.Service.Name;
        string? error = status >= 500 ? response.Headers[MeshErrors.Header].ToString() : null;
        if (error is { Length: 0 })
            error = null;

        if (_metrics is { } metrics)
        {
            var tags = new TagList
            {
                { "destination_service", service },
                { "destination_version", version },
                { "status_class", StatusClasses[(uint)status / 100 < 6 ? status / 100 : 0] },
                { "caller", caller },
            };
            if (inbound)
            {
                metrics.ServerDuration.Record(elapsed.TotalSeconds, tags);
            }
            else
            {
                tags.Add("route", route);
                metrics.ClientDuration.Record(elapsed.TotalSeconds, tags);
            }
            if (error is not null)
                metrics.ProxyErrors.Add(1, new KeyValuePair<string, object?>("direction", inbound ? "inbound" : "outbound"), new KeyValuePair<string, object?>("error", error));
        }

        if (scope.Activity is { } activity)
            FinishSpan(activity, context, record, route, service, status, error);

        _accessLog?.Write(new AccessLogEntry
        {
            Time = _time.GetUtcNow() - elapsed,
            Direction = scope.Direction,
            Method = context.Request.Method,
            Path = context.Request.Path.Value ?? "/",
            Route = route,
            Service = service,
            Upstream = inbound ? _config.App.Address : record.Upstream,
            Status = status,
            DurationMs = elapsed.TotalMilliseconds,
            RequestBytes = context.Request.ContentLength,
            ResponseBytes = response.ContentLength,
            Caller = caller,
            TraceId = scope.Activity?.TraceId.ToHexString(),
            TraceParent = TraceParentOf(scope.Activity, context),
            Retries = Math.Max(0, record.Attempts - 1),
            Error = error,
        });
    }

    public void InjectTraceContext(HttpRequestMessage proxyRequest) => _tracing.Inject(proxyRequest);

    public void RetryScheduled(string route, string service) =>
        _metrics?.Retries.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("destination_service", service));

    public void RetryBudgetExhausted(string route, string service) =>
        _metrics?.BudgetExhausted.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("destination_service", service));

    public void EndpointEjected(string service) =>
        _metrics?.Ejections.Add(1, new KeyValuePair<string, object?>("destination_service", service));

    private static string CallerOf(HttpContext context) =>
        context.GetCallerIdentity() is { } caller ? caller.Service : UnknownCaller;

    /// <summary>
    /// Tracing off: the caller's traceparent, if it came with one (the access log shows its trace
    /// id). Not Activity.Current: that is ASP.NET Core's request activity, whose made-up trace id
    /// no other hop would share.
    /// </summary>
    private static string? TraceParentOf(Activity? activity, HttpContext context)
    {
        if (activity is not null)
            return null;
        var header = context.Request.Headers[SidecarTracing.TraceParent];
        return header.Count == 1 ? header.ToString() : null;
    }

    private static void FinishSpan(Activity activity, HttpContext context, in RequestRecord record, string route, string service, int status, string? error)
    {
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("http.request.method", context.Request.Method);
            activity.SetTag("url.path", context.Request.Path.Value);
            activity.SetTag("http.response.status_code", status);
            activity.SetTag("mesh.route", route);
            activity.SetTag("mesh.destination.service", service);
            if (record.Endpoint is { } endpoint)
            {
                activity.SetTag("mesh.endpoint.id", endpoint.Id);
                activity.SetTag("server.address", endpoint.Address);
                activity.SetTag("server.port", endpoint.Port);
            }
            if (record.Attempts > 1)
                activity.SetTag("mesh.retries", record.Attempts - 1);
            if (error is not null)
                activity.SetTag("error.type", error);
        }
        if (status >= 500)
            activity.SetStatus(ActivityStatusCode.Error, error);
        activity.Dispose();
    }

    private int _disposed;

    /// <summary>Flushes the access log; a second call does nothing (the host stops telemetry before its container disposes it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        if (_accessLog is not null)
            await _accessLog.DisposeAsync().ConfigureAwait(false);
        _metrics?.Dispose();
        _tracing.Dispose();
    }
}
