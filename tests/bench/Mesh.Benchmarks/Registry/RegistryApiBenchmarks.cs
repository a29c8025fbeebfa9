using System.Net;
using BenchmarkDotNet.Attributes;
using Mesh.Registry.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Benchmarks.Registry;

/// <summary>
/// One request through the registry's client API end to end: a real single-node registry on
/// loopback (Kestrel, routing, the API filters, the Raft log for writes) and an HTTP/1.1
/// keep-alive client in the same process. The allocation column counts both sides; the client's
/// share is the same for every API change, so a difference between two builds is the server's.
/// </summary>
[MemoryDiagnoser]
public class RegistryApiBenchmarks
{
    private readonly byte[] _data = [.. Enumerable.Repeat((byte)'x', 100)];
    private DirectoryInfo _directory = null!;
    private RegistryNode _node = null!;
    private HttpClient _http = null!;
    private Uri _node0 = null!;
    private Uri _stale = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Directory.CreateTempSubdirectory("mesh-apibench");
        _node = new RegistryNode(new RegistryNodeOptions
        {
            Id = 1,
            DataDirectory = _directory.FullName,
            ClientEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            LoggerFactory = NullLoggerFactory.Instance,
        });
        await _node.StartAsync();
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false });
        _node0 = new Uri(_node.ClientUrl, "/v1/nodes/bench/n0");
        _stale = new Uri(_node.ClientUrl, "/v1/nodes/bench/n0?stale=true");
        // A single node elects itself at once; a write before that is answered 503.
        for (var attempt = 0; ; attempt++)
        {
            using var response = await _http.PostAsync(new Uri(_node.ClientUrl, "/v1/nodes/bench/n0?parents=true"), new ByteArrayContent(_data));
            if (response.IsSuccessStatusCode || attempt == 100)
                break;
            await Task.Delay(50);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _http.Dispose();
        await _node.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    /// <summary>GET a 100-byte node from this node's applied state (<c>?stale=true</c>).</summary>
    [Benchmark]
    public Task<byte[]> StaleRead() => GetAsync(_stale);

    /// <summary>GET the same node linearizably: on the leader, after a read barrier.</summary>
    [Benchmark]
    public Task<byte[]> LinearizableRead() => GetAsync(_node0);

    /// <summary>PUT 100 bytes: one Raft entry, flushed, applied and answered.</summary>
    [Benchmark]
    public async Task<int> Write()
    {
        using var response = await _http.PutAsync(_node0, new ByteArrayContent(_data));
        return (int)response.EnsureSuccessStatusCode().StatusCode;
    }

    private async Task<byte[]> GetAsync(Uri url)
    {
        using var response = await _http.GetAsync(url);
        return await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync();
    }
}
