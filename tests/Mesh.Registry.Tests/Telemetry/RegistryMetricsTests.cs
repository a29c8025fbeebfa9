using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Registry.Api.Access;

namespace Mesh.Registry.Tests.Telemetry;

public sealed partial class RegistryMetricsTests
{
    [Fact]
    public async Task Metrics_ThreeNodeCluster_LeaderExportsRegistryMetrics()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { SnapshotEvery = 20 });
        var leader = await cluster.WaitForLeaderAsync();
        for (var i = 0; i < 30; i++)
        {
            using var created = await cluster.Http.PostAsync(cluster.Url(leader, $"/v1/nodes/metrics/n{i}?parents=true"), new StringContent("x"));
            Assert.True(created.IsSuccessStatusCode, $"{(int)created.StatusCode}");
        }

        // The snapshot and the members' availability are made in the background, and under load the
        // leadership may move: ask whoever leads until its numbers show all of it (the last failed
        // assertion is the failure's message).
        await Eventually.TrueAsync(async () =>
        {
            leader = await cluster.WaitForLeaderAsync();
            var text = await cluster.Http.GetStringAsync(cluster.Url(leader, "/metrics"));
            Assert.Equal(1, Value(text, "mesh_registry_role", "role=\"leader\""));
            Assert.Equal(0, Value(text, "mesh_registry_role", "role=\"follower\""));
            Assert.Equal(1, Value(text, "mesh_registry_is_leader"));
            Assert.True(Value(text, "mesh_registry_term") >= 1);
            Assert.True(Value(text, "mesh_registry_commit_index") >= 30);
            Assert.True(Value(text, "mesh_registry_applied_index") >= 30);
            Assert.True(Value(text, "mesh_registry_leader_changes_total") >= 1);
            Assert.True(Value(text, "mesh_registry_nodes") >= 32);
            Assert.True(Value(text, "mesh_registry_write_duration_seconds_count") >= 30);
            Assert.True(Value(text, "mesh_registry_apply_duration_seconds_count") >= 30);
            Assert.True(Value(text, "mesh_registry_snapshot_duration_seconds_count") >= 1);
            Assert.True(Value(text, "mesh_registry_snapshot_size_bytes") > 0);
            Assert.Equal(3, Count(text, "mesh_registry_member_available"));
            foreach (var name in new[] { "mesh_registry_sessions", "mesh_registry_watches", "mesh_registry_apply_lag" })
                Assert.True(Count(text, name) == 1, $"{name} missing");
            return true;
        }, "the leader's /metrics never showed every registry metric");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Metrics_ThreeNodeCluster_LeaderExportsEachFollowersLag(bool authentication)
    {
        // With authentication on, the leader asks its peers with its own (read) token.
        const string admin = "lag-admin-token-0123456789abcdef", read = "lag-read-token-0123456789abcdef";
        await using var cluster = await TestCluster.StartAsync(configure: o => authentication
            ? o with { ApiTokens = [ApiTokenGrant.Parse("admin=" + admin), ApiTokenGrant.Parse("read=" + read)] }
            : o);
        if (authentication)
            cluster.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin);
        var leader = await cluster.WaitForLeaderAsync();
        long last = 0;
        for (var i = 0; i < 20; i++)
            (_, last) = await cluster.CreateOnLeaderAsync($"/lag/n{i}", "x");
        await cluster.WaitAppliedAsync(last);
        leader = await cluster.WaitForLeaderAsync();
        var followers = cluster.Nodes.Where(n => n is not null && n != leader).Select(n => n!.Id.ToString(CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(2, followers.Length);

        // Refreshed in the background every 2 s while the node leads: wait for a refresh that saw both followers.
        var text = await cluster.Http.GetStringAsync(cluster.Url(leader, "/metrics"));
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        while (!followers.All(id => Count(text, "mesh_registry_member_lag", $"member=\"{id}\"") == 1))
        {
            await Task.Delay(200, timeout.Token);
            text = await cluster.Http.GetStringAsync(cluster.Url(leader, "/metrics"));
        }

        foreach (var id in followers)
            Assert.True(Value(text, "mesh_registry_member_lag", $"member=\"{id}\"") >= 0, text);
        Assert.True(Value(text, "mesh_registry_commit_index") >= last);
    }

    private static int Count(string text, string name, string label = "") => Samples(text, name, label).Count();

    private static double Value(string text, string name, string label = "") => Samples(text, name, label).Single();

    private static IEnumerable<double> Samples(string text, string name, string label) =>
        text.Split('\n')
            .Select(line => SampleLine().Match(line))
            .Where(m => m.Success && m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            .Select(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)")]
    private static partial Regex SampleLine();
}
