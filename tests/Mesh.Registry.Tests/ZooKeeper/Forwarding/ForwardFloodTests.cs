using System.Globalization;
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
public sealed class ForwardFloodTests(ITestOutputHelper output)
{
    private const int Attackers = 50;
    private const long BodyBytes = 2L * 1024 * 1024;

    [Fact]
    public async Task UnprovenForwardedWrites_50ConcurrentTwoMegabyteBodies_RefusedBeforeReading_OthersServedThroughout()
    {
        await using var registry = await BodyFlood.StartRegistryAsync();
        var before = ResidentMemory.Of(registry.Process);

        List<Attempt> flood;
        long peak;
        using var stop = new CancellationTokenSource();
        var others = Task.Run(() => WriteAndReadAsync(registry.Admin, stop.Token));
        await using (var memory = new PeakMemory(registry.Process))
        {
            flood = await BodyFlood.RunAsync(Attackers, TimeSpan.FromSeconds(5), i => AttackAsync(registry.Url, (Kind)(i % 3)));
            await stop.CancelAsync();
            peak = memory.Peak;
        }
        var (ok, failures) = await others;

        output.WriteLine($"registry RSS: before {ResidentMemory.Mb(before)}, peak during the flood {ResidentMemory.Mb(peak)}");
        output.WriteLine($"flood: {flood.Count} requests of {ResidentMemory.Mb(BodyBytes)}; answers " +
            string.Join(", ", flood.GroupBy(f => (f.Kind, f.Answer.Status)).Select(g => $"{g.Key.Kind} {g.Key.Status}: {g.Count()}")) +
            $"; body bytes the callers got to send: max {ResidentMemory.Mb(flood.Max(f => f.Answer.Sent))} (what sat in socket buffers until the answer was seen)");
        output.WriteLine($"other clients: {ok} ok, {failures.Count} failed {string.Join("; ", failures)}");

        Assert.All(flood, f => Assert.Equal(403, f.Answer.Status));
        Assert.All(flood, f => Assert.Contains("the body was not read", f.Answer.Message ?? "", StringComparison.Ordinal));
        Assert.Empty(failures);
        Assert.True(ok > 0);
        Assert.True(peak - before < 512L * 1024 * 1024, $"RSS grew from {ResidentMemory.Mb(before)} to {ResidentMemory.Mb(peak)}");
    }

    private enum Kind { NoProof, ForgedProof, ForgedProofChunked }

    private sealed record Attempt(Kind Kind, SlowBodyAnswer Answer);

    // One caller: the head of a forwarded write, then the body slowly until the registry answers.
    private static async Task<Attempt> AttackAsync(Uri url, Kind kind)
    {
        // Well-formed (it parses) and current, but made with a key that is not the cluster's.
        var forged = ForwardProof.Create(new byte[32], "x"u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        string[] headers = kind == Kind.NoProof
            ? ["Content-Type: application/octet-stream"]
            : ["Content-Type: application/octet-stream", $"{ZkLeaderEndpoints.ProofHeader}: {forged}"];
        return new Attempt(kind, await BodyFlood.SendSlowlyAsync(url, ZkLeaderEndpoints.WritePath, BodyBytes, chunked: kind == Kind.ForgedProofChunked, headers));
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
}
