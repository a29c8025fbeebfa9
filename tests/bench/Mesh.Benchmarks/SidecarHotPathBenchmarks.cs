// The sidecar's own stages end to end, per request: the outbound handler (guard, route match,
// rate limit, the resilience pipeline with timeout and retries, endpoint pick, outlier report,
// telemetry) and the inbound handler (guard, rate limit, telemetry), each against a forwarder
// that answers 200 at once, on an in-process HttpContext: no sockets, so what is left is Mesh's.
// Metrics are on and collected by the OpenTelemetry SDK, as in a running sidecar.
// Run: dotnet run -c Release --project tests/bench/Mesh.Benchmarks -- --filter '*SidecarHotPath*'
using BenchmarkDotNet.Attributes;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Forwarder;
using Mesh.Sidecar.Inbound;
using Mesh.Sidecar.Outbound;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Telemetry;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Benchmarks;

[MemoryDiagnoser]
public class SidecarHotPathBenchmarks
{
    private const string Yaml = """
        service: { name: frontend, version: v1 }
        app: { address: http://127.0.0.1:8080 }
        endpoints:
          catalog:
            - { id: catalog-1, address: 127.0.0.1, port: 15006, weight: 100, version: v1 }
            - { id: catalog-2, address: 127.0.0.2, port: 15006, weight: 100, version: v1 }
        routes:
          - name: catalog-api
            match: { hosts: [catalog], pathPrefix: /api }
            service: catalog
            rateLimit: { requestsPerSecond: 1000000000, burst: 1000000000 }
        rateLimits:
          inbound:
            - { name: total, requestsPerSecond: 1000000000, burst: 1000000000 }
        """;

    private readonly StagedSidecar.AnswerAtOnce _forwarder = new(transforms: false);
    private readonly StagedSidecar.AnswerAtOnce _transformingForwarder = new(transforms: true);
    private readonly List<IDisposable> _disposables = [];
    private OutboundHandler? _outbound;
    private InboundHandler? _inbound;
    private OutboundHandler? _outboundTransforming;
    private InboundHandler? _inboundTransforming;
    private SidecarState? _state;
    private SidecarTelemetry? _telemetry;
    private CompiledRoute? _route;
    private ResiliencePipeline<AttemptResult> _pollyTimeout = ResiliencePipeline<AttemptResult>.Empty;
    private DefaultHttpContext _outboundContext = new();
    private DefaultHttpContext _inboundContext = new();

    [GlobalSetup]
    public void Setup()
    {
        var config = SidecarConfigLoader.Parse(Yaml);
        var time = TimeProvider.System;
        _disposables.Add(StagedSidecar.CollectMetrics());

        var state = new SidecarState(requireRegistration: false);
        var catalog = new EndpointCatalog(new StaticEndpointSource(config.Endpoints), time, NullLogger.Instance);
        var rateLimits = new SidecarRateLimits(config.RateLimits, null, time);
        state.SwapRoutes(new RouteCompiler(config.Defaults, catalog, LoadBalancingPolicies.CreateAll(new Random(1)), time, rateLimits)
            .Compile(new RouteSnapshot(1, config.Routes)));
        while (catalog.Clusters.FirstOrDefault(c => c.Service == "catalog")?.Snapshot.All.Length is not 2)
            Thread.Sleep(10);

        var telemetry = new SidecarTelemetry(config, time);
        telemetry.Bind(state, catalog);
        var clients = new ForwarderClients(config);
        _disposables.Add(clients);
        OutboundHandler Outbound(IHttpForwarder forwarder) => new(state, forwarder, clients, new RetryBudget(config.Defaults.RetryBudget, time, telemetry),
            new OutlierDetector(time, telemetry), new EndpointPicker(new Random(1)), catalog, telemetry);
        _outbound = Outbound(_forwarder);
        _outboundTransforming = Outbound(_transformingForwarder);
        _inbound = new InboundHandler(state, _forwarder, clients, telemetry, rateLimits: rateLimits.Inbound);
        _inboundTransforming = new InboundHandler(state, _transformingForwarder, clients, telemetry, rateLimits: rateLimits.Inbound);
        _state = state;
        _telemetry = telemetry;
        state.Routes.Match("catalog", "/api/items/42", "GET", new HeaderDictionary(), out _route);
        _pollyTimeout = new ResiliencePipelineBuilder<AttemptResult> { TimeProvider = time }
            .AddTimeout(_route!.Timeout)
            .AddPipeline(_route.Pipeline)
            .Build();

        _outboundContext = StagedSidecar.NewContext();
        _inboundContext = StagedSidecar.NewContext();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var disposable in _disposables)
            disposable.Dispose();
    }

    [Benchmark]
    public Task Outbound()
    {
        Reset(_outboundContext);
        return _outbound!.HandleAsync(_outboundContext);
    }

    [Benchmark]
    public Task Inbound()
    {
        Reset(_inboundContext);
        return _inbound!.HandleAsync(_inboundContext);
    }

    /// <summary>
    /// The same with the transformer run: its base copies the request headers into an
    /// HttpRequestMessage, which is the forwarder's cost more than Mesh's.
    /// </summary>
    [Benchmark]
    public Task OutboundWithTransforms()
    {
        Reset(_outboundContext);
        return _outboundTransforming!.HandleAsync(_outboundContext);
    }

    [Benchmark]
    public Task InboundWithTransforms()
    {
        Reset(_inboundContext);
        return _inboundTransforming!.HandleAsync(_inboundContext);
    }

    // The outbound stages one by one, to say where the time goes.
    [Benchmark]
    public object? StageRouteMatch()
    {
        var request = _outboundContext.Request;
        _state!.Routes.Match(request.Headers.Host.ToString(), request.Path.Value!, request.Method, request.Headers, out var route);
        return route;
    }

    [Benchmark]
    public async Task<bool> StageRateLimit()
    {
        using var permit = await RateLimitStage.AcquireAsync(_outboundContext, _route!.RateLimits).ConfigureAwait(false);
        return permit.IsAcquired;
    }

    /// <summary>The route timeout as it was: Polly's timeout strategy around the retries (a pooled source re-armed per request).</summary>
    [Benchmark]
    public Task<bool> StageTimeoutPolly() => RunAttemptsAsync(_pollyTimeout, CancellationToken.None);

    /// <summary>The route timeout as it is: the route's shared deadline token, then the retries.</summary>
    [Benchmark]
    public Task<bool> StageTimeoutShared() => RunAttemptsAsync(_route!.Pipeline, _route.Deadline.Token);

    /// <summary>One request's attempts through <paramref name="pipeline"/>: the first answers.</summary>
    private static async Task<bool> RunAttemptsAsync(ResiliencePipeline<AttemptResult> pipeline, CancellationToken token)
    {
        var resilience = ResilienceContextPool.Shared.Get(token);
        var outcome = await pipeline.ExecuteOutcomeAsync(static (_, _) => new ValueTask<Outcome<AttemptResult>>(Outcome.FromResult(AttemptResult.Done)), resilience, 0).ConfigureAwait(false);
        ResilienceContextPool.Shared.Return(resilience);
        return outcome.Result == AttemptResult.Done;
    }

    [Benchmark]
    public void StageTelemetry()
    {
        var scope = _telemetry!.RequestStarted(_outboundContext, Mesh.Sidecar.Core.RequestDirection.Outbound);
        _telemetry.RequestCompleted(new Mesh.Sidecar.Core.RequestRecord(scope, _outboundContext, _route!.Name, "catalog"));
    }

    private static void Reset(DefaultHttpContext context)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.Headers.Clear();
    }
}
