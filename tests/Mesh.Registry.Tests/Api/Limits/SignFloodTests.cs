using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
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
public sealed class SignFloodTests(ITestOutputHelper output)
{
    private const string ShopToken = "shop-token-0123456789abcdef";
    private const int Attackers = 50;
    private const long BodyBytes = 15L * 1024 * 1024;

    [Fact]
    public async Task SignFlood_50Concurrent15MegabyteBodies_RefusedBeforeReading_OthersServedThroughout()
    {
        await using var registry = await BodyFlood.StartRegistryAsync("--join-token", "shop=" + ShopToken);
        var before = ResidentMemory.Of(registry.Process);

        // Two rounds: if memory held on to anything per flood, the second would end higher.
        var rounds = new List<(long Peak, long After)>();
        var flood = new List<(SlowBodyAnswer Answer, bool Chunked)>();
        var failures = new List<string>();
        int ok = 0, failed = 0;
        var slowest = TimeSpan.Zero;
        for (var round = 0; round < 2; round++)
        {
            using var stop = new CancellationTokenSource();
            long peak;
            var others = Task.Run(() => ServeOthersAsync(registry.Url, stop.Token));
            await using (var memory = new PeakMemory(registry.Process))
            {
                // A sustained flood: each attacker starts over as soon as it is refused, for 5 s.
                // One attacker: a 15 MB signing request sent at 3 MB/s (5 s if the registry kept reading).
                flood.AddRange(await BodyFlood.RunAsync(Attackers, TimeSpan.FromSeconds(5), async i =>
                    (await BodyFlood.SendSlowlyAsync(registry.Url, "/v1/ca/sign", BodyBytes, chunked: i % 2 == 1, "Content-Type: application/json"), i % 2 == 1)));
                await Task.Delay(500); // a little more of the other clients after the flood
                await stop.CancelAsync();
                peak = memory.Peak;
            }
            var served = await others;
            (ok, failed, slowest) = (ok + served.Ok, failed + served.Failed, served.Slowest > slowest ? served.Slowest : slowest);
            failures.AddRange(served.Failures);
            await Task.Delay(10_000);
            rounds.Add((peak, ResidentMemory.Of(registry.Process)));
        }

        var statuses = string.Join(", ", flood.GroupBy(f => f.Answer.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"));
        output.WriteLine($"registry RSS: before {ResidentMemory.Mb(before)}; " + string.Join("; ", rounds.Select((r, i) => $"flood {i + 1}: peak {ResidentMemory.Mb(r.Peak)}, 10 s after {ResidentMemory.Mb(r.After)}")));
        output.WriteLine($"flood: {flood.Count} requests of {ResidentMemory.Mb(BodyBytes)} from {Attackers} concurrent attackers in two 5 s rounds; answers {statuses}; body bytes the attackers got to send: max {ResidentMemory.Mb(flood.Max(f => f.Answer.Sent))}, total {ResidentMemory.Mb(flood.Sum(f => f.Answer.Sent))} of {ResidentMemory.Mb(flood.Count * BodyBytes)} offered (what sat in socket buffers until the answer was seen)");
        output.WriteLine($"other clients during the floods: {ok} ok, {failed} failed, slowest {slowest.TotalMilliseconds:0} ms {string.Join("; ", failures)}");

        Assert.All(flood, f => Assert.Contains(f.Answer.Status, new[] { 413, 429 }));
        // Refused before reading: a declared body by its Content-Length alone; a chunked one
        // once it passed 16 KiB (or at the gate, 429, before any of it).
        Assert.All(flood.Where(f => !f.Chunked), f => Assert.Contains($"this one declares {BodyBytes} bytes", f.Answer.Message, StringComparison.Ordinal));
        Assert.All(flood.Where(f => f.Chunked && f.Answer.Status == 413), f => Assert.Contains("may be at most 16 KiB; this one is larger", f.Answer.Message, StringComparison.Ordinal));
        Assert.Equal(0, failed);
        Assert.True(ok > 0);
        Assert.All(rounds, r => Assert.True(r.Peak - before < 1024L * 1024 * 1024, $"RSS grew from {ResidentMemory.Mb(before)} to {ResidentMemory.Mb(r.Peak)}"));
    }

    // Other clients while the flood runs: an operator reading status and writing, and a sidecar
    // renewing its certificate with its join token as the bearer.
    private static async Task<(int Ok, int Failed, TimeSpan Slowest, List<string> Failures)> ServeOthersAsync(Uri url, CancellationToken stop)
    {
        using var admin = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BodyFlood.AdminToken);
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
}
