using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Mesh.Registry.Tests.Api.Limits;
using Mesh.Registry.ZooKeeper.Forwarding;
using Xunit.Abstractions;

namespace Mesh.Registry.Tests.ZooKeeper.Forwarding;

/// <summary>
/// The leader's ZooKeeper forwarding endpoint is on the client port, where anyone can reach it.
/// Against a real <c>mesh registry</c> process: 50 concurrent callers post 2 MiB bodies to it for
/// 5 s, without a proof, with a well-formed forged one, and chunked. Every one is refused from its
/// header alone, before its body is read, and the registry keeps serving other clients.
/// </summary>
public sealed partial class ForwardFloodTests(ITestOutputHelper output)
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const int Attackers = 50;
    private const long BodyBytes = 2L * 1024 * 1024;

    [Fact]
    public async Task UnprovenForwardedWrites_50ConcurrentTwoMegabyteBodies_RefusedBeforeReading_OthersServedThroughout()
    {
        var data = Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));
        await using var process = MeshProcess.Start("registry", "--id", "1", "--data", data, "--client", "127.0.0.1:0",
            "--api-token", "admin=" + AdminToken);
        var url = new Uri((await process.WaitForMatchAsync(ServingLine(), TimeSpan.FromSeconds(60))).Groups[1].Value + "/");
        using var admin = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        await Eventually.TrueAsync(async () =>
        {
            using var root = await admin.GetAsync("v1/ca/root");
            return root.StatusCode == HttpStatusCode.OK;
        }, "the registry never served its CA root");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("v1/nodes/flood-probe", new StringContent("0"))).StatusCode);
        await Task.Delay(1000);
        var before = ResidentMemory.Of(process.Process);

        using var stop = new CancellationTokenSource();
        var peak = before;
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, ResidentMemory.Of(process.Process));
                await Task.Delay(50);
            }
        });
        var others = Task.Run(() => WriteAndReadAsync(admin, stop.Token));
        var floodEnds = Stopwatch.StartNew();
        var flood = (await Task.WhenAll(Enumerable.Range(0, Attackers).Select(async i =>
        {
            var attempts = new List<Attempt>();
            do
                attempts.Add(await AttackAsync(url, (Kind)(i % 3)));
            while (floodEnds.Elapsed < TimeSpan.FromSeconds(5));
            return attempts;
        }))).SelectMany(a => a).ToList();
        await stop.CancelAsync();
        await sampler;
        var (ok, failures) = await others;

        output.WriteLine($"registry RSS: before {ResidentMemory.Mb(before)}, peak during the flood {ResidentMemory.Mb(peak)}");
        output.WriteLine($"flood: {flood.Count} requests of {ResidentMemory.Mb(BodyBytes)}; answers " +
            string.Join(", ", flood.GroupBy(f => (f.Kind, f.Status)).Select(g => $"{g.Key.Kind} {g.Key.Status}: {g.Count()}")) +
            $"; body bytes the callers got to send: max {ResidentMemory.Mb(flood.Max(f => f.Sent))} (what sat in socket buffers until the answer was seen)");
        output.WriteLine($"other clients: {ok} ok, {failures.Count} failed {string.Join("; ", failures)}");

        Assert.All(flood, f => Assert.Equal(403, f.Status));
        Assert.All(flood, f => Assert.Contains("the body was not read", f.Message, StringComparison.Ordinal));
        Assert.Empty(failures);
        Assert.True(ok > 0);
        Assert.True(peak - before < 512L * 1024 * 1024, $"RSS grew from {ResidentMemory.Mb(before)} to {ResidentMemory.Mb(peak)}");
    }

    private enum Kind { NoProof, ForgedProof, ForgedProofChunked }

    private sealed record Attempt(Kind Kind, int Status, long Sent, string Message);

    // One caller: the head of a forwarded write, then the body in 64 KiB pieces every 20 ms until
    // the registry answers or closes. Bounded: 2 MiB or 30 s.
    private static async Task<Attempt> AttackAsync(Uri url, Kind kind)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var raw = await RawHttp.ConnectAsync(url, deadline.Token);
        // Well-formed (it parses) and current, but made with a key that is not the cluster's.
        var forged = ForwardProof.Create(new byte[32], "x"u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var headers = new List<string> { "Content-Type: application/octet-stream" };
        if (kind != Kind.NoProof)
            headers.Add($"{ZkLeaderEndpoints.ProofHeader}: {forged}");
        headers.Add(kind == Kind.ForgedProofChunked ? "Transfer-Encoding: chunked" : $"Content-Length: {BodyBytes}");
        await raw.SendHeadAsync("POST", ZkLeaderEndpoints.WritePath, [.. headers]);
        var head = raw.Sent;
        var piece = Enumerable.Repeat((byte)'A', 64 * 1024).ToArray();
        var chunk = RawHttp.Chunk(piece);
        long body = 0;
        while (body < BodyBytes && !raw.AnswerWaiting && !deadline.IsCancellationRequested)
        {
            if (!await raw.TrySendAsync(kind == Kind.ForgedProofChunked ? chunk : piece, deadline.Token))
                break;
            body += piece.Length;
            await Task.Delay(20, deadline.Token);
        }
        var response = await raw.ReadResponseAsync(deadline.Token);
        return new Attempt(kind, response?.Status ?? 0, raw.Sent - head, response?.Message ?? "(no answer)");
    }

    private static async Task<(int Ok, List<string> Failures)> WriteAndReadAsync(HttpClient admin, CancellationToken stop)
    {
        var ok = 0;
        var failures = new List<string>();
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            try
            {
                using var answer = i % 2 == 0
                    ? await admin.PutAsync("v1/nodes/flood-probe", new StringContent(i.ToString(CultureInfo.InvariantCulture)), CancellationToken.None)
                    : await admin.GetAsync("v1/status", CancellationToken.None);
                if (answer.IsSuccessStatusCode)
                    ok++;
                else
                    failures.Add($"request {i}: {(int)answer.StatusCode}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failures.Add($"request {i}: {e.GetType().Name}: {e.Message}");
            }
            await Task.Delay(50, CancellationToken.None);
        }
        return (ok, failures);
    }

    [GeneratedRegex(@"serving clients on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex ServingLine();
}
