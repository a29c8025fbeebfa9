// Volume: thousands of hostile requests from several connections at once, while a well-behaved
// client keeps calling. Every normal request must succeed, and the memory the process keeps after
// the flood must not grow with the flood. This class runs alone (see RunsAlone), since it
// measures the process's retained heap.
using System.Text;
using Xunit.Abstractions;

namespace Mesh.Sidecar.Tests.Hostile;

[Collection(RunsAlone.Name)]
public sealed class FloodTests(ITestOutputHelper output)
{
    private const int Attacks = 2000;
    private const int Attackers = 4;

    /// <summary>
    /// Generous against noise (pools, JIT, connection bookkeeping), yet below what keeping even the
    /// accepted part of the over-limit bodies would cost (500 × 64 KB = 32 MB).
    /// </summary>
    private const long RetainedGrowthBound = 24L * 1024 * 1024;

    [Fact]
    public async Task FloodOfHugeHeadsAndOversizedBodies_OthersAreServedThroughout_AndRetainedMemoryStaysBounded()
    {
        await using var rig = await HostileRig.StartAsync();
        // Warm up first so pools and JIT do not count as growth.
        await RunAttacksAsync(rig, 40);
        await rig.AssertStillServesAsync();
        var before = RetainedBytes();

        using var stop = new CancellationTokenSource();
        var served = 0;
        var normal = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await rig.AssertStillServesAsync(requests: 1);
                served++;
            }
        });
        var refused = await RunAttacksAsync(rig, Attacks);
        await stop.CancelAsync();
        await normal;
        var after = RetainedBytes();

        output.WriteLine($"{Attacks} attacks refused, {served} normal requests served meanwhile, retained heap {before / 1024} KB -> {after / 1024} KB");
        Assert.Equal(Attacks, refused);
        Assert.True(served > 0, "the normal client never got a turn");
        Assert.True(after - before < RetainedGrowthBound,
            $"retained heap grew by {(after - before) / 1024} KB over {Attacks} attacks (bound {RetainedGrowthBound / 1024} KB)");
    }

    /// <summary>Runs <paramref name="count"/> attacks from <see cref="Attackers"/> connections at a time; returns how many were refused.</summary>
    private static async Task<int> RunAttacksAsync(HostileRig rig, int count)
    {
        var refused = 0;
        await Task.WhenAll(Enumerable.Range(0, Attackers).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; i < count; i += Attackers)
            {
                if (await AttackAsync(rig, i % 4))
                    Interlocked.Increment(ref refused);
            }
        })));
        return refused;
    }

    private static readonly string HugeHeader = $"GET /flood HTTP/1.1\r\nHost: catalog\r\nX-Huge: {new string('h', 256 * 1024)}\r\n\r\n";
    private static readonly string ManyHeaders = "GET /flood HTTP/1.1\r\nHost: catalog\r\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"X-Flood-{i}: {i}\r\n")) + "\r\n";
    private static readonly string DeclaredHugeBody = "POST /flood HTTP/1.1\r\nHost: catalog\r\nContent-Length: 1073741824\r\n\r\n";
    private static readonly byte[] Chunk = Encoding.ASCII.GetBytes($"4000\r\n{new string('b', 0x4000)}\r\n");

    /// <summary>One hostile request; true when the sidecar refused it (a 4xx, or a closed connection).</summary>
    private static async Task<bool> AttackAsync(HostileRig rig, int kind)
    {
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
        switch (kind)
        {
            case 0:
                await connection.TrySendAsync(HugeHeader);
                break;
            case 1:
                await connection.TrySendAsync(ManyHeaders);
                break;
            case 2:
                await connection.TrySendAsync(DeclaredHugeBody);
                break;
            default:
                await connection.TrySendAsync("POST /flood HTTP/1.1\r\nHost: catalog\r\nTransfer-Encoding: chunked\r\n\r\n");
                for (var sent = 0; sent < 2 * HostileRig.MaxBodyBytes && await connection.TrySendAsync(Chunk); sent += Chunk.Length)
                {
                }
                await connection.TrySendAsync("0\r\n\r\n");
                break;
        }
        var response = await connection.ReadResponseAsync();
        return response is null or { Status: >= 400 and < 500 };
    }

    private static long RetainedBytes()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
