using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// Three real <c>mesh registry</c> processes whose peers reach each other only through the
/// fault-injecting relays (<see cref="ProcessCluster"/>), and whose <c>--peers</c> list only the
/// relays' Raft addresses: every client address is published by the nodes themselves.
/// </summary>
[Collection(NetworkLabCollection.Name)]
public sealed class PartitionRelayTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task LeaderCutOffByTheRelays_MajorityElectsAnother_AndKeepsServingWrites()
    {
        RequiredTool.Check(NetworkLab.Unavailable());
        void Log(string line) => output.WriteLine(line);
        var root = Path.Combine(Path.GetTempPath(), $"mesh-relay-{Environment.ProcessId}-{Guid.NewGuid():N}");
        await using var lab = NetworkLab.Create(3, Log);
        await using var cluster = await ProcessCluster.StartAsync(lab, root, snapshotEvery: 1000, Log);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };

        // Forwarding works with Raft-only --peers: a write to a follower lands on the leader.
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var follower = (leader + 1) % 3;
        await ExpectAsync(http, HttpMethod.Post, cluster.ClientUrl(follower), "/v1/nodes/relay/before?parents=true", HttpStatusCode.Created);

        // Isolates the leader of the moment; asked again if a look fell between two terms.
        int? cut = null;
        for (var waited = Stopwatch.StartNew(); cut is null && waited.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(100))
            cut = await cluster.IsolateLeaderAsync();
        Assert.True(cut is not null, "no leader to isolate within 30 s");
        var isolated = cut.Value;
        Log($"isolated node {isolated}; links cut: {cluster.Links}");
        var majority = Enumerable.Range(0, 3).Where(n => n != isolated).ToArray();

        // The majority elects a new leader among themselves.
        var clock = Stopwatch.StartNew();
        int? newLeader = null;
        while (newLeader is null && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            foreach (var node in majority)
            {
                if (await cluster.StatusAsync(node) is { Role: "leader" })
                    newLeader = node;
            }
            await Task.Delay(100);
        }
        Assert.True(newLeader is not null, "the majority side elected no leader within 30 s of the partition");
        Log($"node {newLeader} leads the majority after {clock.Elapsed.TotalSeconds:0.0} s");

        // Both majority nodes take writes (the follower forwards to the new leader). Just after the
        // election a write may still meet a second election among the two (504 OutcomeUnknown, or
        // 503): as a client does, it is sent again with the same idempotency pair, which applies it
        // once or replays its result.
        var clientId = Guid.NewGuid();
        var seq = 0L;
        for (var i = 0; i < 5; i++)
        {
            foreach (var node in majority)
                await WriteSurelyAsync(http, cluster.ClientUrl(node), $"/v1/nodes/relay/during-{node}-{i}?parents=true", clientId, ++seq, Log);
        }

        // The cut-off node cannot apply a write: it answers "not applied" or "outcome unknown", never success.
        using (var request = new HttpRequestMessage(HttpMethod.Post, new Uri(cluster.ClientUrl(isolated), "/v1/nodes/relay/isolated?parents=true")))
        using (var response = await http.SendAsync(request))
        {
            var body = await response.Content.ReadAsStringAsync();
            Log($"write to the isolated node: {(int)response.StatusCode} {body}");
            Assert.True(response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout, $"isolated node answered {(int)response.StatusCode}: {body}");
        }

        // Healed, the old leader catches up with what the majority wrote.
        await cluster.HealAsync([]);
        await cluster.WaitHealthyAsync(TimeSpan.FromSeconds(30));
        clock.Restart();
        while (true)
        {
            using var read = await http.GetAsync(new Uri(cluster.ClientUrl(isolated), $"/v1/nodes/relay/during-{majority[0]}-4?stale=true"));
            if (read.StatusCode == HttpStatusCode.OK)
                break;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the healed node did not catch up within 20 s");
            await Task.Delay(200);
        }
    }

    /// <summary>A create that answers 201, retried with its idempotency pair while the answer says the outcome is unknown or no leader took it.</summary>
    private static async Task WriteSurelyAsync(HttpClient http, Uri node, string pathAndQuery, Guid clientId, long seq, Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(node, pathAndQuery)) { Content = new StringContent("v") };
            request.Headers.Add("Mesh-Client-Id", clientId.ToString());
            request.Headers.Add("Mesh-Request-Seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                log($"POST {pathAndQuery} on {node}: {(int)response.StatusCode} {body}; sent again");
                await Task.Delay(200);
                continue;
            }
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST {pathAndQuery} on {node}: expected 201, got {(int)response.StatusCode}: {body}");
            _ = JsonDocument.Parse(body);
            return;
        }
    }

    private static async Task ExpectAsync(HttpClient http, HttpMethod method, Uri node, string pathAndQuery, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, new Uri(node, pathAndQuery)) { Content = new StringContent("v") };
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {pathAndQuery} on {node}: expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        _ = JsonDocument.Parse(body);
    }
}
