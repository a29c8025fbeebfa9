// The sidecar's outbound or inbound handler with its stages switched on one at a time, in the
// order a request meets them (like tests/bench/proxy/run.sh's stage-* targets), over a forwarder
// that answers 200 at once: an in-process HttpContext, no sockets, so what a request costs here is
// Mesh's own. Metrics are collected by the OpenTelemetry SDK and access log lines are written (to
// Stream.Null) as in a running sidecar. The BenchmarkDotNet stage benchmarks
// (tests/bench/Mesh.Benchmarks/SidecarStageBenchmarks.cs) and the allocation tests share it.
using System.Net;
using System.Threading.Tasks.Sources;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Connections;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Forwarder;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Inbound;
using Mesh.Sidecar.Outbound;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Security;
using Mesh.Sidecar.Telemetry;
using Mesh.Sidecar.Tests.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Tests.TestSupport;

/// <summary>The stages, cumulative: each includes every one before it in its direction.</summary>
public enum SidecarStage
{
    /// <summary>Guard, route match (outbound) and one attempt through the forwarder; metrics and outlier detection off.</summary>
    Floor,

    /// <summary>A rate limit that never refuses (the route's outbound, the inbound policy's inbound).</summary>
    RateLimit,

    /// <summary>Outbound: the route's timeout and up to 3 attempts (retry on 503).</summary>
    Resilience,

    /// <summary>Outbound: passive health (consecutive failures) judged on every attempt.</summary>
    OutlierDetection,

    /// <summary>The request duration histograms and error counters (the default).</summary>
    Metrics,

    /// <summary>One JSON access log line per request.</summary>
    AccessLog,

    /// <summary>mTLS: outbound, the upstream invoker for the destination's identity; inbound, the caller's SPIFFE id from its certificate, counted.</summary>
    MeshTls,

    /// <summary>Inbound: an authorization policy that evaluates a deny rule, then allows the caller.</summary>
    Authorization,
}

internal sealed class StagedSidecar : IDisposable
{
    public static readonly SidecarStage[] OutboundStages =
        [SidecarStage.Floor, SidecarStage.RateLimit, SidecarStage.Resilience, SidecarStage.OutlierDetection, SidecarStage.Metrics, SidecarStage.AccessLog, SidecarStage.MeshTls];

    public static readonly SidecarStage[] InboundStages =
        [SidecarStage.Floor, SidecarStage.RateLimit, SidecarStage.Metrics, SidecarStage.AccessLog, SidecarStage.MeshTls, SidecarStage.Authorization];

    private readonly List<IDisposable> _owned = [];
    private readonly List<IAsyncDisposable> _ownedAsync = [];
    private readonly Func<HttpContext, Task> _handler;
    private readonly DefaultHttpContext _context;

    private readonly AnswerLater? _later;

    private StagedSidecar(RequestDirection direction, SidecarStage stage, TimeProvider time, bool upstreamWaits)
    {
        var on = (SidecarStage s) => stage >= s && (direction == RequestDirection.Outbound ? OutboundStages : InboundStages).Contains(s);
        var config = SidecarConfigLoader.Parse(Yaml(on));
        _owned.Add(CollectMetrics());

        var state = new SidecarState(requireRegistration: false);
        var catalog = new EndpointCatalog(new StaticEndpointSource(config.Endpoints), time, NullLogger.Instance);
        _ownedAsync.Add(catalog);
        var rateLimits = new SidecarRateLimits(config.RateLimits, null, time);
        state.SwapRoutes(new RouteCompiler(config.Defaults, catalog, LoadBalancingPolicies.CreateAll(new Random(1)), time, rateLimits)
            .Compile(new RouteSnapshot(1, config.Routes)));
        // The static endpoints arrive through the catalog's watch, off this thread.
        for (var waited = 0; catalog.Clusters.FirstOrDefault(c => c.Service == "catalog")?.Snapshot.All.Length is not 2; waited++)
        {
            if (waited == 1000)
                throw new InvalidOperationException("the catalog never saw the two static endpoints");
            Thread.Sleep(10);
        }
        var telemetry = new SidecarTelemetry(config, time, accessLogOutput: Stream.Null);
        _ownedAsync.Add(telemetry);
        telemetry.Bind(state, catalog);
        var clients = new ForwarderClients(config);
        _owned.Add(clients);
        var security = on(SidecarStage.MeshTls) ? Security(on(SidecarStage.Authorization), time) : null;
        IHttpForwarder forwarder = upstreamWaits ? _later = new AnswerLater() : new AnswerAtOnce();
        if (direction == RequestDirection.Outbound)
        {
            var outbound = new OutboundHandler(state, forwarder, clients, new RetryBudget(config.Defaults.RetryBudget, time, telemetry),
                new OutlierDetector(time, telemetry), new EndpointPicker(new Random(1)), catalog, telemetry, security);
            _handler = outbound.HandleAsync;
        }
        else
        {
            var inbound = new InboundHandler(state, forwarder, clients, telemetry, security, rateLimits.Inbound);
            _handler = inbound.HandleAsync;
        }
        _context = NewContext(direction == RequestDirection.Inbound && security is not null ? _caller : null);
    }

    private System.Security.Cryptography.X509Certificates.X509Certificate2? _caller;

    /// <summary>
    /// A sidecar of <paramref name="direction"/> with the stages up to <paramref name="stage"/> on.
    /// With <paramref name="upstreamWaits"/> the forwarder answers only after the handler has
    /// awaited it, as a real upstream does, so every async method on the way suspends once (its
    /// state machine goes to the heap); the answer still comes on this thread, so what that costs is
    /// counted too.
    /// </summary>
    public static StagedSidecar Create(RequestDirection direction, SidecarStage stage, TimeProvider? time = null, bool upstreamWaits = false) =>
        new(direction, stage, time ?? TimeProvider.System, upstreamWaits);

    /// <summary>The OpenTelemetry SDK collecting the sidecar's meters (and exporting nowhere), as in a running sidecar.</summary>
    public static MeterProvider CollectMetrics() => Sdk.CreateMeterProviderBuilder()
        .AddMeter(SidecarMetrics.MeterName, TelemetryServices.RateLimitingMeterName, SecurityMetrics.MeterName)
        .AddReader(new BaseExportingMetricReader(new NothingExporter()))
        .Build();

    /// <summary>The last request's status.</summary>
    public int LastStatus => _context.Response.StatusCode;

    /// <summary>One GET through the handler, on the same context (its response reset first).</summary>
    public Task SendAsync()
    {
        var response = _context.Response;
        response.StatusCode = 200;
        response.Headers.Clear();
        var task = _handler(_context);
        _later?.Answer();
        return task;
    }

    /// <summary>
    /// Bytes this thread allocated per request over <paramref name="requests"/> requests, the
    /// fewest of <paramref name="rounds"/> rounds (after one to warm up). Exact, because every
    /// stage completes at once here, on this thread; the fewest, because a buffer that grows once
    /// (the access log's queue, when its writer thread falls behind on a busy machine) is not a
    /// cost per request, while anything a request allocates shows in every round.
    /// </summary>
    public double AllocatedBytesPerRequest(int requests, int rounds = 5)
    {
        Run(requests);
        var fewest = long.MaxValue;
        for (var round = 0; round < rounds; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Run(requests);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest / (double)requests;
    }

    private void Run(int requests)
    {
        // As under Kestrel: no synchronization context. The test runner's would make a task's
        // continuations go to the thread pool instead of running inline where the answer comes.
        var runner = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            RunInline(requests);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(runner);
        }
    }

    private void RunInline(int requests)
    {
        for (var i = 0; i < requests; i++)
        {
            var task = SendAsync();
            if (!task.IsCompleted)
                throw new InvalidOperationException($"a stage went asynchronous, so its allocations would be counted on another thread");
            task.GetAwaiter().GetResult();
            if (_context.Response.StatusCode != 200)
                throw new InvalidOperationException($"the request was answered {_context.Response.StatusCode}, not passed through");
        }
    }

    private static string Yaml(Func<SidecarStage, bool> on)
    {
        var route = on(SidecarStage.Resilience) ? "retries: { attempts: 3, retryOn: [503] }, timeout: 15s" : "retries: { attempts: 1 }";
        if (on(SidecarStage.RateLimit))
            route += ", rateLimit: { requestsPerSecond: 1000000000, burst: 1000000000 }";
        return $$"""
            service: { name: catalog, namespace: shop, version: v1 }
            app: { address: http://127.0.0.1:8080 }
            endpoints:
              catalog:
                - { id: catalog-1, address: 127.0.0.1, port: 15006, weight: 100, version: v1 }
                - { id: catalog-2, address: 127.0.0.2, port: 15006, weight: 100, version: v1 }
            routes:
              - { name: catalog-api, match: { hosts: [catalog], pathPrefix: /api }, service: catalog, {{route}} }
            defaults: { outlierDetection: { consecutiveFailures: {{(on(SidecarStage.OutlierDetection) ? 5 : 0)}} } }
            telemetry:
              metrics: { enabled: {{(on(SidecarStage.Metrics) ? "true" : "false")}} }
              accessLog: { enabled: {{(on(SidecarStage.AccessLog) ? "true" : "false")}} }
            """ + (on(SidecarStage.RateLimit) ? """

            rateLimits:
              inbound:
                - { name: total, requestsPerSecond: 1000000000, burst: 1000000000 }
            """ : "");
    }

    private SidecarSecurity Security(bool policy, TimeProvider time)
    {
        var pki = new MeshTestPki();
        _owned.Add(pki);
        _caller = pki.Issue("frontend").Certificate;
        var policies = policy
            ? new AuthorizationPolicySet(AuthorizationPolicyReader.Read("""
                authorization:
                  - service: catalog
                    rules:
                      - { name: no-legacy, action: deny, from: [shop/legacy] }
                      - { name: caller, action: allow, from: [shop/frontend], paths: [/], methods: [GET, POST] }
                """))
            : null;
        var security = new SidecarSecurity(MeshTlsMode.Strict, pki.Trust, pki.Source("catalog"), MeshTestPki.Id("catalog"), policies, time);
        _ownedAsync.Add(security);
        return security;
    }

    /// <summary>A GET with the half dozen headers a browser-ish client sends; over mTLS when <paramref name="caller"/> is set.</summary>
    public static DefaultHttpContext NewContext(System.Security.Cryptography.X509Certificates.X509Certificate2? caller = null)
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = HttpMethods.Get;
        request.Scheme = "http";
        request.Protocol = HttpProtocol.Http11;
        request.Path = "/api/items/42";
        var headers = request.Headers;
        headers.Host = "catalog";
        headers.Accept = "application/json";
        headers.AcceptEncoding = "gzip, deflate, br";
        headers.UserAgent = "bench/1.0";
        headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        headers["x-request-id"] = "7f0c2d6e-5b1a-4c51-9d7e-3f7a9c1b2e4d";
        if (caller is not null)
        {
            context.Connection.ClientCertificate = caller;
            context.Features.Set(new ConnectionNoise.NegotiatedTls(System.Security.Authentication.SslProtocols.Tls13));
        }
        return context;
    }

    public void Dispose()
    {
        foreach (var owned in _ownedAsync)
            owned.DisposeAsync().AsTask().GetAwaiter().GetResult();
        foreach (var owned in _owned)
            owned.Dispose();
    }

    /// <summary>
    /// The forwarder's place: answers 200 at once, without I/O. With <paramref name="transforms"/>
    /// it runs the transformer's request and response steps on one reused message pair (YARP's base
    /// copies the request headers: the forwarder's cost more than Mesh's); without, none.
    /// </summary>
    public sealed class AnswerAtOnce(bool transforms = false) : IHttpForwarder
    {
        private readonly HttpRequestMessage _request = new();
        private readonly HttpResponseMessage _response = new(HttpStatusCode.OK);

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer) =>
            SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, CancellationToken.None);

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
        {
            if (!transforms)
            {
                context.Response.StatusCode = (int)HttpStatusCode.OK;
                return new(ForwarderError.None);
            }
            return TransformAsync(context, destinationPrefix, transformer, cancellationToken);
        }

        private async ValueTask<ForwarderError> TransformAsync(HttpContext context, string destinationPrefix, HttpTransformer transformer, CancellationToken cancellationToken)
        {
            _request.Headers.Clear();
            await transformer.TransformRequestAsync(context, _request, destinationPrefix, cancellationToken).ConfigureAwait(false);
            context.Response.StatusCode = (int)HttpStatusCode.OK;
            await transformer.TransformResponseAsync(context, _response, cancellationToken).ConfigureAwait(false);
            return ForwarderError.None;
        }
    }

    /// <summary>Answers 200 when told to (<see cref="Answer"/>), after the caller has awaited it; the continuations run on the answering thread.</summary>
    private sealed class AnswerLater : IHttpForwarder, IValueTaskSource<ForwarderError>
    {
        private ManualResetValueTaskSourceCore<ForwarderError> _answer;
        private HttpContext? _waiting;

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer) =>
            SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, CancellationToken.None);

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
        {
            _answer.Reset();
            _waiting = context;
            return new(this, _answer.Version);
        }

        /// <summary>Answers the request waiting, if one is (a refused request never reached the forwarder).</summary>
        public void Answer()
        {
            if (_waiting is not { } context)
                return;
            _waiting = null;
            context.Response.StatusCode = (int)HttpStatusCode.OK;
            _answer.SetResult(ForwarderError.None);
        }

        public ForwarderError GetResult(short token) => _answer.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _answer.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _answer.OnCompleted(continuation, state, token, flags);
    }

    private sealed class NothingExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
