using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace Mesh.Registry.Tests.Api.Limits;

/// <summary>
/// The parts of a body-flood test: a one-node <c>mesh registry</c> process with an operator, a
/// sampler of its peak resident memory, many attackers starting over for a fixed time, and one
/// attacker that sends a large body slowly until it is answered.
/// </summary>
internal static partial class BodyFlood
{
    public const string AdminToken = "admin-token-0123456789abcdef";

    /// <summary>A running registry whose CA is ready, with an operator client and a node <c>flood-probe</c> to write.</summary>
    public static async Task<FloodTarget> StartRegistryAsync(params string[] extraArguments)
    {
        var data = Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));
        var process = MeshProcess.Start(["registry", "--id", "1", "--data", data, "--client", "127.0.0.1:0", "--api-token", "admin=" + AdminToken, .. extraArguments]);
        try
        {
            var url = new Uri((await process.WaitForMatchAsync(ServingLine(), TimeSpan.FromSeconds(60))).Groups[1].Value + "/");
            var admin = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
            var target = new FloodTarget(process, url, admin);
            await Eventually.TrueAsync(async () =>
            {
                using var root = await admin.GetAsync("v1/ca/root");
                return root.StatusCode == HttpStatusCode.OK;
            }, "the registry never served its CA root");
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("v1/nodes/flood-probe", new StringContent("0"))).StatusCode);
            await Task.Delay(1000); // let start-up allocations settle
            return target;
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Every attacker runs <paramref name="attack"/> again as soon as it is answered, until <paramref name="duration"/> has passed.</summary>
    public static async Task<List<T>> RunAsync<T>(int attackers, TimeSpan duration, Func<int, Task<T>> attack)
    {
        var ends = Stopwatch.StartNew();
        return (await Task.WhenAll(Enumerable.Range(0, attackers).Select(async i =>
        {
            var attempts = new List<T>();
            do
                attempts.Add(await attack(i));
            while (ends.Elapsed < duration);
            return attempts;
        }))).SelectMany(a => a).ToList();
    }

    /// <summary>
    /// One attacker: <paramref name="headers"/>, then a body of up to <paramref name="bodyBytes"/>
    /// in 64 KiB pieces every 20 ms (chunked or not), until the registry answers or closes.
    /// Bounded: the body, or 30 s.
    /// </summary>
    public static async Task<SlowBodyAnswer> SendSlowlyAsync(Uri url, string path, long bodyBytes, bool chunked, params string[] headers)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var raw = await RawHttp.ConnectAsync(url, deadline.Token);
        await raw.SendHeadAsync("POST", path, [.. headers, chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {bodyBytes}"]);
        var head = raw.Sent;
        var piece = Enumerable.Repeat((byte)'A', 64 * 1024).ToArray();
        var chunk = RawHttp.Chunk(piece);
        long body = 0;
        while (body < bodyBytes && !raw.AnswerWaiting && !deadline.IsCancellationRequested)
        {
            if (!await raw.TrySendAsync(chunked ? chunk : piece, deadline.Token))
                break;
            body += piece.Length;
            await Task.Delay(20, deadline.Token);
        }
        var response = await raw.ReadResponseAsync(deadline.Token);
        return new SlowBodyAnswer(response?.Status ?? 0, raw.Sent - head, response?.Body.Length > 0 ? response.Message : null);
    }

    [GeneratedRegex(@"serving clients on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex ServingLine();
}

/// <summary>What one slow-body attacker got: the status (0: no answer), the body bytes it got to send, the answer's message.</summary>
internal sealed record SlowBodyAnswer(int Status, long Sent, string? Message);

/// <summary>The registry under attack; disposing it stops the process.</summary>
internal sealed class FloodTarget(MeshProcess process, Uri url, HttpClient admin) : IAsyncDisposable
{
    public Process Process => process.Process;

    public Uri Url { get; } = url;

    public HttpClient Admin { get; } = admin;

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await process.DisposeAsync();
    }
}

/// <summary>Samples a process's resident memory every 50 ms until disposed; <see cref="Peak"/> is the highest seen.</summary>
internal sealed class PeakMemory : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private long _peak;

    public PeakMemory(Process process)
    {
        _peak = ResidentMemory.Of(process);
        _sampler = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Interlocked.Exchange(ref _peak, Math.Max(Interlocked.Read(ref _peak), ResidentMemory.Of(process)));
                await Task.Delay(50);
            }
        });
    }

    public long Peak => Interlocked.Read(ref _peak);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        _stop.Dispose();
    }
}
