// The access log stage alone, before and after batching, in one run: PerLineAccessLogWriter (the
// writer woken for every line that finds it idle) and AccessLogWriter (lines queued, one wake-up
// and one write per flush interval), against no access log at all. Each writes the line a request
// makes to a FileStream opened as the sidecar opens its log file, on /dev/null (the write calls
// are made and counted, the disk is left out). The CPU/op column is what counts: the writer's
// work is on other threads, so the Mean column (this thread's wall time) leaves most of it out.
// Lines come back to back, or paced by sleeping (no CPU) as requests arrive in a running sidecar:
// 16 per millisecond (about the proxy bench's rate) or one per millisecond.
// Run: dotnet artifacts/bin/Mesh.Benchmarks/release/Mesh.Benchmarks.dll --filter '*AccessLogBenchmarks*' --inProcess
using BenchmarkDotNet.Attributes;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Benchmarks.Telemetry;

public enum AccessLogWriterKind
{
    None,
    PerLine,
    Batched,
}

public enum LinePace
{
    BackToBack,
    SixteenPerMs,
    OnePerMs,
}

[MemoryDiagnoser]
[Config(typeof(CpuConfig))]
public class AccessLogBenchmarks
{
    private const int Lines = 16;
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private PerLineAccessLogWriter? _perLine;
    private AccessLogWriter? _batched;
    private long _written;
    private long _dropped;

    [Params(AccessLogWriterKind.None, AccessLogWriterKind.PerLine, AccessLogWriterKind.Batched)]
    public AccessLogWriterKind Writer { get; set; }

    [Params(LinePace.SixteenPerMs, LinePace.OnePerMs, LinePace.BackToBack)]
    public LinePace Pace { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var config = new AccessLogConfig { Enabled = true, Path = "/dev/null" };
        if (Writer == AccessLogWriterKind.PerLine)
            _perLine = new PerLineAccessLogWriter(config, () => _dropped++);
        else if (Writer == AccessLogWriterKind.Batched)
            _batched = new AccessLogWriter(config, TimeProvider.System, () => _dropped++);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _perLine?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _batched?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        // Back to back, a writer can fall behind and drop lines, which costs less than writing them.
        Console.WriteLine($"// {Writer} {Pace}: {_dropped:N0} of {_written:N0} lines dropped");
    }

    [Benchmark(OperationsPerInvoke = Lines)]
    public void Request()
    {
        for (var i = 0; i < Lines; i++)
        {
            // What SidecarTelemetry.RequestCompleted hands the writer for one request.
            var entry = new AccessLogEntry
            {
                Time = TimeProvider.System.GetUtcNow(),
                Direction = RequestDirection.Outbound,
                Method = "GET",
                Path = "/api/items/42",
                Route = "catalog-api",
                Service = "catalog",
                Upstream = "http://127.0.0.1:15006",
                Status = 200,
                DurationMs = 0.731,
                ResponseBytes = 100,
                Caller = "frontend",
                TraceParent = TraceParent,
            };
            if (_perLine is not null)
                _perLine.Write(entry);
            else
                _batched?.Write(entry);
            if (Pace == LinePace.OnePerMs)
                Thread.Sleep(1);
        }
        if (Pace == LinePace.SixteenPerMs)
            Thread.Sleep(1);
        _written += Lines;
        CpuDiagnoser.Count(Lines);
    }
}
