// The rate-limiting stage on the hot path: a route-wide token bucket (no partition lookup) and a
// per-header-key bucket, each through RateLimitStage.AcquireAsync as the handlers call it, with
// non-binding limits so every request is admitted. Must not allocate.
// Run: dotnet run -c Release --project tests/bench/Mesh.Benchmarks -- --filter '*RateLimit*'
using BenchmarkDotNet.Attributes;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Mesh.Benchmarks.RateLimiting;

[MemoryDiagnoser]
public class RateLimitStageBenchmarks
{
    private readonly DefaultHttpContext _context = new();
    private RateLimitStage _routeWide = null!;
    private RateLimitStage _perHeader = null!;
    private RateLimitStage _fixedWindow = null!;

    [GlobalSetup]
    public void Setup()
    {
        _context.Request.Headers["x-api-key"] = "tenant-42";
        var telemetry = new RateLimitMetrics();
        RateLimitStage Stage(RateLimitOptions options) =>
            new(RateLimitStage.Outbound, [new RateLimitStage.Entry(new RateLimitStrategy(options, TimeProvider.System))], telemetry);
        _routeWide = Stage(new RateLimitOptions { Name = "route", RequestsPerSecond = int.MaxValue });
        _perHeader = Stage(new RateLimitOptions { Name = "key", RequestsPerSecond = int.MaxValue, Key = RateLimitKeyKind.Header, KeyHeader = "x-api-key" });
        _fixedWindow = Stage(new RateLimitOptions { Name = "window", Kind = RateLimitKind.FixedWindow, Limit = int.MaxValue, Window = TimeSpan.FromHours(1) });
    }

    [Benchmark(Baseline = true)]
    public bool NoLimit()
    {
        using var permit = RateLimitStage.AcquireAsync(_context, null).Result;
        return permit.IsAcquired;
    }

    [Benchmark]
    public bool RouteWideTokenBucket()
    {
        using var permit = _routeWide.AcquireAsync(_context).Result;
        return permit.IsAcquired;
    }

    [Benchmark]
    public bool PerHeaderKeyTokenBucket()
    {
        using var permit = _perHeader.AcquireAsync(_context).Result;
        return permit.IsAcquired;
    }

    [Benchmark]
    public bool RouteWideFixedWindow()
    {
        using var permit = _fixedWindow.AcquireAsync(_context).Result;
        return permit.IsAcquired;
    }
}
