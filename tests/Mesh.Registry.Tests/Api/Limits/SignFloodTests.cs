using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Xunit.Abstractions;

namespace Mesh.Registry.Tests.Api.Limits;

/// <summary>
/// The attack found on main, against a real <c>mesh registry</c> process: 50 concurrent 15 MB
/// bodies to the unauthenticated <c>/v1/ca/sign</c>, sent slowly. Every one is refused before its
/// body is read, the registry keeps answering other clients throughout, and its resident memory is
/// reported before, during and after (bounded loosely: the point is that it does not grow with the
/// flood, as it did on main: 270 MB to 5.8 GB).
/// </summary>
public sealed partial class SignFloodTests(ITestOutputHelper output)
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const string ShopToken = "shop-token-0123456789abcdef";
    private const int Attackers = 50;
    private const long BodyBytes = 15L * 1024 * 1024;

    [Fact]
    public async Task SignFlood_50Concurrent15MegabyteBodies_RefusedBeforeReading_OthersServedThroughout()
    {
        var data = Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));
        await using var process = MeshProcess.Start("registry", "--id", "1", "--data", data, "--client", "127.0.0.1:0",
            "--api-token", "admin=" + AdminToken, "--join-token", "shop=" + ShopToken);
        var registry = process.Process;
        var url = new Uri((await process.WaitForMatchAsync(ServingLine(), TimeSpan.FromSeconds(60))).Groups[1].Value + "/");
        using var admin = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        await Eventually.TrueAsync(async () =>
        {
            using var root = await admin.GetAsync("v1/ca/root");
            return root.StatusCode == HttpStatusCode.OK;
        }, "the registry never served its CA root");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("v1/nodes/flood-probe", new StringContent("0"))).StatusCode);
        await Task.Delay(1000); // let start-up allocations settle
        var before = ResidentMemory.Of(registry);

        // Two rounds: if memory held on to anything per flood, the second would end higher.
        var rounds = new List<(long Peak, long After)>();
        var flood = new List<(int Status, long Sent, bool Chunked, string? Message)>();
        var failures = new List<string>();
        int ok = 0, failed = 0;
        var slowest = TimeSpan.Zero;
        for (var round = 0; round < 2; round++)
        {
            using var stop = new CancellationTokenSource();
            var peak = ResidentMemory.Of(registry);
            var sampler = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    peak = Math.Max(peak, ResidentMemory.Of(registry));
                    await Task.Delay(50);
                }
            });
            var others = Task.Run(() => ServeOthersAsync(url, stop.Token));

            // A sustained flood: each attacker starts over as soon as it is refused, for 5 s.
            var floodEnds = Stopwatch.StartNew();
            flood.AddRange((await Task.WhenAll(Enumerable.Range(0, Attackers).Select(async i =>
            {
                var attempts = new List<(int Status, long Sent, bool Chunked, string? Message)>();
                do
                    attempts.Add(await AttackAsync(url, chunked: i % 2 == 1));
                while (floodEnds.Elapsed < TimeSpan.FromSeconds(5));
                return attempts;
            }))).SelectMany(a => a));
            await Task.Delay(500); // a little more of the other clients after the flood
            await stop.CancelAsync();
            await sampler;
            var served = await others;
            (ok, failed, slowest) = (ok + served.Ok, failed + served.Failed, served.Slowest > slowest ? served.Slowest : slowest);
            failures.AddRange(served.Failures);
            await Task.Delay(10_000);
            rounds.Add((peak, ResidentMemory.Of(registry)));
        }

        var statuses = string.Join(", ", flood.GroupBy(f => f.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"));
        output.WriteLine($"registry RSS: before {ResidentMemory.Mb(before)}; " + string.Join("; ", rounds.Select((r, i) => $"flood {i + 1}: peak {ResidentMemory.Mb(r.Peak)}, 10 s after {ResidentMemory.Mb(r.After)}")));
        output.WriteLine($"flood: {flood.Count} requests of {ResidentMemory.Mb(BodyBytes)} from {Attackers} concurrent attackers in two 5 s rounds; answers {statuses}; body bytes the attackers got to send: max {ResidentMemory.Mb(flood.Max(f => f.Sent))}, total {ResidentMemory.Mb(flood.Sum(f => f.Sent))} of {ResidentMemory.Mb(flood.Count * BodyBytes)} offered (what sat in socket buffers until the answer was seen)");
        output.WriteLine($"other clients during the floods: {ok} ok, {failed} failed, slowest {slowest.TotalMilliseconds:0} ms {string.Join("; ", failures)}");

        Assert.All(flood, f => Assert.Contains(f.Status, new[] { 413, 429 }));
        // Refused before reading: a declared body by its Content-Length alone; a chunked one
        // once it passed 16 KiB (or at the gate, 429, before any of it).
        Assert.All(flood.Where(f => !f.Chunked), f => Assert.Contains($"this one declares {BodyBytes} bytes", f.Message, StringComparison.Ordinal));
        Assert.All(flood.Where(f => f.Chunked && f.Status == 413), f => Assert.Contains("may be at most 16 KiB; this one is larger", f.Message, StringComparison.Ordinal));
        Assert.Equal(0, failed);
        Assert.True(ok > 0);
        Assert.All(rounds, r => Assert.True(r.Peak - before < 1024L * 1024 * 1024, $"RSS grew from {ResidentMemory.Mb(before)} to {ResidentMemory.Mb(r.Peak)}"));
    }

    // One attacker: the head of a 15 MB signing request, then the body in 64 KiB pieces every
    // 20 ms (3 MB/s: 5 s per request if the registry kept reading), until the registry answers or
    // closes. Bounded: 15 MB or 30 s.
    private static async Task<(int Status, long Sent, bool Chunked, string? Message)> AttackAsync(Uri url, bool chunked)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var raw = await RawHttp.ConnectAsync(url, deadline.Token);
        await raw.SendHeadAsync("POST", "/v1/ca/sign", "Content-Type: application/json",
            chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {BodyBytes}");
        var head = raw.Sent;
        var piece = Enumerable.Repeat((byte)'A', 64 * 1024).ToArray();
        var chunk = RawHttp.Chunk(piece);
        long body = 0;
        while (body < BodyBytes && !raw.AnswerWaiting && !deadline.IsCancellationRequested)
        {
            if (!await raw.TrySendAsync(chunked ? chunk : piece, deadline.Token))
                break;
            body += piece.Length;
            await Task.Delay(20, deadline.Token);
        }
        var response = await raw.ReadResponseAsync(deadline.Token);
        return (response?.Status ?? 0, raw.Sent - head, chunked, response?.Body.Length > 0 ? response.Message : null);
    }

    // Other clients while the flood runs: an operator reading status and writing, and a sidecar
    // renewing its certificate with its join token as the bearer.
    private static async Task<(int Ok, int Failed, TimeSpan Slowest, List<string> Failures)> ServeOthersAsync(Uri url, CancellationToken stop)
    {
        using var admin = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        using var sidecar = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
        sidecar.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ShopToken);
        using var key = WorkloadIdentity.CreateKey();
        var csr = WorkloadIdentity.CreateSigningRequestPem(key, SpiffeId.Create("mesh.local", "shop", "catalog"));
        int ok = 0, failed = 0, i = 0;
        var failures = new List<string>();
        var slowest = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            HttpResponseMessage? answer = null;
            try
            {
                answer = (i++ % 3) switch
                {
                    0 => await admin.GetAsync("v1/status"),
                    1 => await admin.PutAsync("v1/nodes/flood-probe", new StringContent(i.ToString(CultureInfo.InvariantCulture))),
                    _ => await sidecar.PostAsJsonAsync("v1/ca/sign", new CaSignRequest("", "shop", "catalog", csr), RegistryJson.Default.CaSignRequest),
                };
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failures.Add($"request {i}: {e.GetType().Name}: {e.Message}");
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            slowest = elapsed > slowest ? elapsed : slowest;
            if (answer?.IsSuccessStatusCode == true)
            {
                ok++;
            }
            else
            {
                failed++;
                if (answer is not null)
                    failures.Add($"request {i}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(CancellationToken.None)}");
            }
            answer?.Dispose();
            await Task.Delay(50, CancellationToken.None);
        }
        return (ok, failed, slowest, failures);
    }

    [GeneratedRegex(@"serving clients on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex ServingLine();
}
