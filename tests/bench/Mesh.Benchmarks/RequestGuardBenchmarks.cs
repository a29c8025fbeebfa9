// What the hostile-input guard costs every request on the outbound and inbound listeners: a
// typical request's dozen headers checked for framing conflicts, token names and control
// characters, plus the declared body against the limit.
// Run: dotnet run -c Release --project tests/bench/Mesh.Benchmarks -- --filter '*RequestGuard*'
using BenchmarkDotNet.Attributes;
using Mesh.Sidecar.Guard;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Benchmarks;

[MemoryDiagnoser]
public class SidecarRequestGuardBenchmarks
{
    private readonly DefaultHttpContext _context = new();

    [GlobalSetup]
    public void Setup()
    {
        var headers = _context.Request.Headers;
        headers.Host = "catalog";
        headers.Accept = "application/json";
        headers.AcceptEncoding = "gzip, deflate, br";
        headers.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)";
        headers.Authorization = "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl";
        headers.Cookie = "session=0123456789abcdef; theme=dark";
        headers.ContentType = "application/json";
        headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        headers["x-request-id"] = "7f0c2d6e-5b1a-4c51-9d7e-3f7a9c1b2e4d";
        headers["x-canary"] = "no";
        _context.Request.ContentLength = 512;
        _context.Features.Set<IHttpMaxRequestBodySizeFeature>(new BodyLimit());
    }

    [Benchmark]
    public bool TypicalRequest() => RequestGuard.TryReject(_context, out _);

    private sealed class BodyLimit : IHttpMaxRequestBodySizeFeature
    {
        public bool IsReadOnly => false;

        public long? MaxRequestBodySize { get; set; } = 30L * 1024 * 1024;
    }
}
